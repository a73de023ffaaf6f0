import { describe, expect, it } from "vitest";
import type { JobMetrics } from "../api/types";
import { appendSamples, chartSeries, cpuDomain, formatBytes, formatPercent, type Sample, samplesOf } from "./series";

const T1 = "2026-01-01T10:00:00.100001Z";
const T2 = "2026-01-01T10:00:05.200002Z";
const T3 = "2026-01-01T10:00:10.300003Z";

const answer = (timestamps: string[], cpu: number[], memory: number[]): JobMetrics => ({ metrics: [
  { name: "cpu_usage_percent", timestamps, values: cpu },
  { name: "memory_working_set_bytes", timestamps, values: memory },
] });

const sample = (timestamp: string, cpuPercent = 1, memoryBytes = 2): Sample =>
  ({ timestamp, time: new Date(timestamp), cpuPercent, memoryBytes });

describe("samplesOf", () => {
  it("pairs CPU and memory by timestamp, keeping the server's timestamp", () => {
    expect(samplesOf(answer([T1, T2], [10.5, 20], [1024, 2048]))).toEqual([
      { timestamp: T1, time: new Date(T1), cpuPercent: 10.5, memoryBytes: 1024 },
      { timestamp: T2, time: new Date(T2), cpuPercent: 20, memoryBytes: 2048 },
    ]);
  });

  it("is empty when a metric is missing or has no samples", () => {
    expect(samplesOf({ metrics: [] })).toEqual([]);
    expect(samplesOf(answer([], [], []))).toEqual([]);
  });
});

describe("appendSamples", () => {
  it("adds only newer samples, so that an overlapping answer repeats nothing", () => {
    const known = [sample(T1), sample(T2)];
    expect(appendSamples(known, [sample(T2), sample(T3)], 100).map((s) => s.timestamp)).toEqual([T1, T2, T3]);
    expect(appendSamples(known, [], 100)).toEqual(known);
  });

  it("tells apart samples in the same millisecond by their full timestamp", () => {
    const earlier = "2026-01-01T10:00:00.100001Z";
    const later = "2026-01-01T10:00:00.100900Z";
    expect(appendSamples([sample(earlier)], [sample(earlier), sample(later)], 100).map((s) => s.timestamp))
      .toEqual([earlier, later]);
  });

  it("keeps the newest `max` samples", () => {
    expect(appendSamples([sample(T1)], [sample(T2), sample(T3)], 2).map((s) => s.timestamp)).toEqual([T2, T3]);
  });
});

describe("chartSeries", () => {
  const samples = new Map([[2, [sample(T2, 30, 4096)]], [0, [sample(T1, 10, 1024), sample(T2, 15, 2048)]], [1, []]]);

  it("draws one line per replica with samples, in replica order", () => {
    const cpu = chartSeries(samples, "cpu");
    expect(cpu.map((series) => series.title)).toEqual(["Replica 0", "Replica 2"]);
    expect(cpu[0]?.data).toEqual([{ x: new Date(T1), y: 10 }, { x: new Date(T2), y: 15 }]);
    expect(chartSeries(samples, "memory")[1]?.data).toEqual([{ x: new Date(T2), y: 4096 }]);
  });

  it("formats values for the details popover", () => {
    const [cpu] = chartSeries(samples, "cpu");
    const [memory] = chartSeries(samples, "memory");
    expect(cpu?.valueFormatter?.(12.345, new Date(T1))).toBe("12.3%");
    expect(memory?.valueFormatter?.(64 << 20, new Date(T1))).toBe("64 MB");
  });
});

describe("cpuDomain", () => {
  it("shows at least one core, and whole cores above it", () => {
    expect(cpuDomain(new Map())).toEqual([0, 100]);
    expect(cpuDomain(new Map([[0, [sample(T1, 0.2)]]]))).toEqual([0, 100]);
    expect(cpuDomain(new Map([[0, [sample(T1, 40)]], [1, [sample(T1, 130)]]]))).toEqual([0, 200]);
  });
});

describe("formats", () => {
  it("reads bytes in binary units and percents to one decimal", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(61_202_432)).toBe("58 MB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GB");
    expect(formatPercent(80)).toBe("80%");
    expect(formatPercent(0.06)).toBe("0.1%");
  });
});
