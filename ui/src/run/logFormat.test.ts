import { describe, expect, it } from "vitest";
import type { LogEvent } from "../api/types";
import { lineText, logTime } from "./logFormat";

const line: LogEvent = { timestamp: "2026-01-31T12:00:00.123456+00:00", log_source: "stdout", message: "hello",
  replica_num: 2, submission_num: 0, offset: 0 };

describe("lineText", () => {
  it("reads as the download writes it, with the prefixes asked for", () => {
    expect(lineText(line, { timestamps: false, replicas: false })).toBe("hello");
    expect(lineText(line, { timestamps: true, replicas: false })).toBe("2026-01-31T12:00:00.123Z hello");
    expect(lineText(line, { timestamps: true, replicas: true })).toBe("2026-01-31T12:00:00.123Z [replica 2] hello");
    expect(lineText(line, { timestamps: false, replicas: true })).toBe("[replica 2] hello");
  });

  it("keeps a time it can't read as it came", () => {
    expect(logTime("garbage")).toBe("garbage");
  });
});
