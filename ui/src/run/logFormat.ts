// How a log line reads with its optional prefixes: the same in the page, in what Copy copies and
// in a download (api/services/logs.py writes `2026-01-31T12:00:00.123Z [replica 1] message`).

import type { LogEvent } from "../api/types";

export interface LineLabels {
  timestamps: boolean;
  /** Every replica's lines are shown together: each says whose it is. */
  replicas: boolean;
}

/** RFC 3339 in UTC with milliseconds, as `kubectl logs --timestamps` and the download write it. */
export function logTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString();
}

export function linePrefix(line: LogEvent, labels: LineLabels): string {
  return `${labels.timestamps ? `${logTime(line.timestamp)} ` : ""}${labels.replicas ? `[replica ${line.replica_num}] ` : ""}`;
}

export const lineText = (line: LogEvent, labels: LineLabels): string => `${linePrefix(line, labels)}${line.message}`;
