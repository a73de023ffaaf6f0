import { describe, expect, it } from "vitest";
import type { JobLogs, LogEvent } from "../api/types";
import { appendLater, prependEarlier, windowAtEnd, type LogSource, type LogWindow } from "./logWindow";

// A log held in memory, paged as the server pages it (api/services/logs.py): one replica by line
// positions, every replica by per-replica boundaries.
class FakeLog {
  lines: LogEvent[] = [];

  add(replica: number, count: number, submission = 0): void {
    for (let i = 0; i < count; i++) {
      const time = this.lines.length;
      this.lines.push({ timestamp: new Date(time * 1000).toISOString(), log_source: "stdout",
        message: `r${replica} #${time}`, replica_num: replica, submission_num: submission,
        offset: 10 * this.lines.filter((l) => l.replica_num === replica && l.submission_num === submission).length });
    }
  }

  private pos = (line: LogEvent): number => line.submission_num * 1e9 + line.offset;

  private boundaries(token: string | null): Map<number, number> {
    return new Map((token ? token.split(",") : []).map((entry): [number, number] => {
      const [r = 0, s = 0, o = 0] = entry.split(":").map(Number);
      return [r, s * 1e9 + o];
    }));
  }

  poll(source: LogSource, token: string | null, limit: number, descending: boolean): JobLogs {
    if (source !== "all") {
      const mine = this.lines.filter((l) => l.replica_num === source.replica);
      const [s = 0, o = 0] = token ? token.split(":").map(Number) : [];
      const at = token ? s * 1e9 + o : null;
      if (descending) {
        const page = mine.filter((l) => at === null || this.pos(l) < at).reverse().slice(0, limit);
        const last = page.at(-1);
        return { logs: page, next_token: page.length === limit && last ? `${last.submission_num}:${last.offset}` : null,
          follow_token: token === null && page[0] ? `${page[0].submission_num}:${page[0].offset}` : null };
      }
      const page = mine.filter((l) => at === null || this.pos(l) > at).slice(0, limit);
      const last = page.at(-1);
      return { logs: page, next_token: last ? `${last.submission_num}:${last.offset}` : token, follow_token: null };
    }
    const bounds = this.boundaries(token);
    const encode = (map: Map<number, [number, number]>): string | null => map.size
      ? [...map].sort(([a], [b]) => a - b).map(([r, [s, o]]) => `${r}:${s}:${o}`).join(",") : null;
    if (descending) {
      const candidates = this.lines.filter((l) => token === null
        || (bounds.has(l.replica_num) && this.pos(l) < bounds.get(l.replica_num)!)).reverse();
      const page = candidates.slice(0, limit);
      const earlier = new Map<number, [number, number]>();
      for (const line of candidates.slice(limit)) {
        const oldestTaken = [...page].reverse().find((l) => l.replica_num === line.replica_num);
        earlier.set(line.replica_num, oldestTaken ? [oldestTaken.submission_num, oldestTaken.offset]
          : [...candidates].find((l) => l.replica_num === line.replica_num && !page.includes(l))
            ? ((b: number) => [Math.floor(b / 1e9), b % 1e9] as [number, number])(bounds.get(line.replica_num)
              ?? this.pos(this.lines.filter((l) => l.replica_num === line.replica_num).at(-1)!) + 1)
            : [0, 0]);
      }
      const follow = new Map<number, [number, number]>();
      for (const line of this.lines) follow.set(line.replica_num, [line.submission_num, line.offset + 1]);
      return { logs: page, next_token: encode(earlier), follow_token: token === null ? encode(follow) : null };
    }
    const page = this.lines.filter((l) => !bounds.has(l.replica_num) || this.pos(l) >= bounds.get(l.replica_num)!)
      .slice(0, limit);
    const later = new Map([...bounds].map(([r, b]) => [r, [Math.floor(b / 1e9), b % 1e9] as [number, number]]));
    for (const line of page) later.set(line.replica_num, [line.submission_num, line.offset + 1]);
    return { logs: page, next_token: encode(later), follow_token: null };
  }
}

const PAGE = 4;
const MAX = 10;
const messages = (window: LogWindow): string[] => window.lines.map((line) => line.message);

function readBackToTheStart(log: FakeLog, source: LogSource): { window: LogWindow; seen: string[][] } {
  let window = windowAtEnd(log.poll(source, null, PAGE, true));
  const seen = [messages(window)];
  while (window.earlier !== null) {
    window = prependEarlier(window, log.poll(source, window.earlier, PAGE, true), source, MAX);
    seen.push(messages(window));
  }
  return { window, seen };
}

function expectContiguous(all: string[], shown: string[]): void {
  const start = all.indexOf(shown[0] ?? "");
  expect(shown).toEqual(all.slice(start, start + shown.length));
}

describe.each<[string, LogSource, (log: FakeLog) => void]>([
  ["one replica", { replica: 0 }, (log) => { log.add(0, 17); log.add(0, 6, 1); }],
  ["every replica", "all", (log) => { log.add(0, 5); log.add(1, 7); log.add(2, 3); log.add(0, 6, 1); log.add(1, 2); }],
])("a window of %s", (_name, source, fill) => {
  it("reads back to the log's first line, holding at most its size, with no gap or repeat", () => {
    const log = new FakeLog();
    fill(log);
    const all = log.poll(source, null, 1000, false).logs.map((line) => line.message);
    const { window, seen } = readBackToTheStart(log, source);
    for (const shown of seen) {
      expect(shown.length).toBeLessThanOrEqual(MAX);
      expectContiguous(all, shown);
    }
    expect(messages(window)).toEqual(all.slice(0, MAX));
    expect(window.atEnd).toBe(false); // its newest lines went: it no longer follows

    // Reading forwards again from where the window stopped reaches the end, then follows it.
    let forward = window;
    while (!forward.atEnd) forward = appendLater(forward, log.poll(source, forward.later, PAGE, false), PAGE, source, MAX);
    expect(messages(forward)).toEqual(all.slice(-MAX));
    log.add(source === "all" ? 2 : 0, 3, source === "all" ? 0 : 1); // the newest submission writes on
    forward = appendLater(forward, log.poll(source, forward.later, PAGE, false), PAGE, source, MAX);
    const grown = log.poll(source, null, 1000, false).logs.map((line) => line.message);
    expect(messages(forward)).toEqual(grown.slice(-MAX));

    // Its oldest lines went while it followed: reading back again finds exactly the lines before.
    const back = prependEarlier(forward, log.poll(source, forward.earlier, PAGE, true), source, MAX);
    expectContiguous(grown, messages(back));
    expect(messages(back)[0]).toBe(grown[grown.length - MAX - PAGE]);
  });
});

describe("windowAtEnd", () => {
  it("shows a descending page oldest first and follows after its newest line", () => {
    const log = new FakeLog();
    log.add(0, 3);
    const window = windowAtEnd(log.poll({ replica: 0 }, null, PAGE, true));
    expect(messages(window)).toEqual(["r0 #0", "r0 #1", "r0 #2"]);
    expect(window).toMatchObject({ earlier: null, later: "0:20", atEnd: true });
  });
});
