// A bounded window onto a log: the lines a reader sees, with the tokens to read what lies before
// and after them. The server pages by position (api/services/log_cursors.py); when the window
// lets lines go, it makes the tokens of its new edges from the lines it keeps and drops.

import type { JobLogs, LogEvent } from "../api/types";

/** Lines the window holds at most: older (or, when reading back, newer) lines fall off its far end. */
export const MAX_LINES = 10_000;

/** Which lines: one replica's (`logs/poll`) or every replica's merged in time order (`logs/poll_all_replicas`). */
export type LogSource = { replica: number } | "all";

export interface LogWindow {
  lines: LogEvent[];
  /** Reads the lines before the first one (descending); null when the first line is the log's first. */
  earlier: string | null;
  /** Reads the lines after the last one; null: from the log's start. */
  later: string | null;
  /** The last line is the newest line read: new lines come after it (the window follows the log). */
  atEnd: boolean;
}

export const emptyWindow: LogWindow = { lines: [], earlier: null, later: null, atEnd: true };

/** The window of a log's end: a descending page read without a token. */
export function windowAtEnd(page: JobLogs): LogWindow {
  return { lines: [...page.logs].reverse(), earlier: page.next_token, later: page.follow_token, atEnd: true };
}

/** Lines read after the window's end (ascending, `limit` asked for). When the window overflows,
 * its oldest lines go. */
export function appendLater(window: LogWindow, page: JobLogs, limit: number, source: LogSource,
  max = MAX_LINES): LogWindow {
  const lines = page.logs.length ? [...window.lines, ...page.logs] : window.lines;
  const atEnd = window.atEnd || page.logs.length < limit;
  const later = page.next_token ?? window.later;
  if (lines.length <= max) return { ...window, lines, later, atEnd };
  const dropped = lines.slice(0, lines.length - max);
  const kept = lines.slice(lines.length - max);
  return { lines: kept, later, atEnd, earlier: earlierEdge(window.earlier, dropped, kept, source) };
}

/** Lines read before the window's start (a descending page, newest first). When the window
 * overflows, its newest lines go, and it no longer follows the log's end. */
export function prependEarlier(window: LogWindow, page: JobLogs, source: LogSource, max = MAX_LINES): LogWindow {
  const lines = [...[...page.logs].reverse(), ...window.lines];
  if (lines.length <= max) return { ...window, lines, earlier: page.next_token };
  const kept = lines.slice(0, max);
  const dropped = lines.slice(max);
  return { lines: kept, earlier: page.next_token, atEnd: false, later: laterEdge(window.later, kept, dropped, source) };
}

const lineToken = (line: LogEvent): string => `${line.submission_num}:${line.offset}`;

// Every replica: a boundary per replica, "replica:submission:offset". The boundary before a line
// is its own position; the one after it, the next offset.
type Boundaries = Map<number, [number, number]>;

function parseBoundaries(token: string | null): Boundaries {
  const boundaries: Boundaries = new Map();
  for (const entry of token ? token.split(",") : []) {
    const [replica = 0, submission = 0, offset = 0] = entry.split(":").map(Number);
    boundaries.set(replica, [submission, offset]);
  }
  return boundaries;
}

function formatBoundaries(boundaries: Boundaries): string | null {
  if (boundaries.size === 0) return null;
  return [...boundaries].sort(([a], [b]) => a - b).map(([replica, [s, o]]) => `${replica}:${s}:${o}`).join(",");
}

/** The token of the lines before `kept`, now that `dropped` (the lines just before it) went. */
function earlierEdge(previous: string | null, dropped: LogEvent[], kept: LogEvent[], source: LogSource): string | null {
  if (source !== "all") return kept[0] ? lineToken(kept[0]) : previous;
  const boundaries = parseBoundaries(previous);
  for (const line of dropped) boundaries.set(line.replica_num, [line.submission_num, line.offset + 1]);
  const seen = new Set<number>();
  for (const line of kept) {
    if (seen.has(line.replica_num)) continue;
    seen.add(line.replica_num);
    boundaries.set(line.replica_num, [line.submission_num, line.offset]);
  }
  return formatBoundaries(boundaries);
}

/** The token of the lines after `kept`, now that `dropped` (the lines just after it) went. */
function laterEdge(previous: string | null, kept: LogEvent[], dropped: LogEvent[], source: LogSource): string | null {
  const newest = kept.at(-1);
  if (source !== "all") return newest ? lineToken(newest) : previous;
  const boundaries = parseBoundaries(previous);
  for (const line of [...dropped].reverse()) boundaries.set(line.replica_num, [line.submission_num, line.offset]);
  const seen = new Set<number>();
  for (const line of [...kept].reverse()) {
    if (seen.has(line.replica_num)) continue;
    seen.add(line.replica_num);
    boundaries.set(line.replica_num, [line.submission_num, line.offset + 1]);
  }
  return formatBoundaries(boundaries);
}
