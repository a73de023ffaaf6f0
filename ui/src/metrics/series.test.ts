import { describe, expect, it } from "vitest";
import type { JobMetrics } from "../api/types";
import {
  alignedPoints, appendSamples, chartSeries, cpuDomain, fewestSamples, formatBytes, formatPercent, memoryScale, niceCeiling,
  type Sample, samplesOf,
} from "./series";

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

describe("chartSeries across replicas sampled at other moments", () => {
  // Two hosts sample on their own clocks: replica 1's samples fall 2 s after replica 0's.
  const at = (seconds: number): string => new Date(Date.UTC(2026, 0, 1, 10, 0, seconds)).toISOString();
  const samples = new Map([
    [0, [sample(at(0), 10), sample(at(5), 20), sample(at(10), 30)]],
    [1, [sample(at(2), 50), sample(at(7), 60)]],
  ]);

  it("gives every replica a point at every moment any replica was sampled, valued by its nearest sample", () => {
    const [zero, one] = chartSeries(samples, "cpu");
    // The popover at a moment lists each line with a point there: both replicas, wherever it points.
    expect(zero?.data.map((point) => [point.x.toISOString(), point.y])).toEqual([
      [at(0), 10], [at(2), 10], [at(5), 20], [at(7), 20], [at(10), 30]]);
    // Replica 1 is drawn only within its own span: nothing is made up before it started or after it ended.
    expect(one?.data.map((point) => [point.x.toISOString(), point.y])).toEqual([[at(2), 50], [at(5), 60], [at(7), 60]]);
  });

  it("leaves a moment out where the nearest sample is more than a sampling interval away", () => {
    const gap = [sample(at(0), 1), sample(at(30), 2)];
    const moments = [at(0), at(4), at(15), at(27), at(30)].map((iso) => new Date(iso).getTime());
    expect(alignedPoints(gap, moments).map(([moment, s]) => [new Date(moment).toISOString(), s.cpuPercent]))
      .toEqual([[at(0), 1], [at(4), 1], [at(27), 2], [at(30), 2]]);
    expect(alignedPoints([], moments)).toEqual([]);
  });

  it("counts the fewest samples a replica has", () => {
    expect(fewestSamples(samples)).toBe(2);
    expect(fewestSamples(new Map([[0, []]]))).toBe(0);
  });
});

describe("memoryScale", () => {
  const memory = (...bytes: number[]) => new Map([[0, bytes.map((b, i) => sample(`2026-01-01T10:00:0${i}Z`, 1, b))]]);
  const MiB = 1024 ** 2;

  it("draws in the binary unit of the largest sample, from zero to a round number of it", () => {
    // Samples of 1 to 1.9 MB: ticks are round numbers of MB (1 MB, 2 MB), not of bytes (977 KB, 1.9 MB).
    const scale = memoryScale(memory(1_000_000, 1_900_000));
    expect(scale.divisor).toBe(MiB);
    expect(scale.domain).toEqual([0, 2]);
    expect([0, 0.5, 1, 1.5, 2].map(scale.format)).toEqual(["0 MB", "0.5 MB", "1 MB", "1.5 MB", "2 MB"]);
    expect(scale.format(1_900_000 / MiB)).toBe("1.8 MB");
    const series = chartSeries(memory(1_000_000, 1_900_000), "memory", scale);
    expect(series[0]?.data.map((point) => point.y)).toEqual([1_000_000 / MiB, 1_900_000 / MiB]);
    expect(series[0]?.valueFormatter?.(1_900_000 / MiB, new Date())).toBe("1.8 MB");
  });

  it("reads 1,000 KB and more as MB, and larger sizes in GB", () => {
    expect(memoryScale(memory(1000 * 1024)).domain).toEqual([0, 1000]);
    const almost = memoryScale(memory(1020 * 1024));
    expect([almost.divisor, almost.domain]).toEqual([MiB, [0, 1]]);
    const large = memoryScale(memory(3 * 1024 ** 3));
    expect([large.divisor, large.domain, large.format(2.5)]).toEqual([1024 ** 3, [0, 5], "2.5 GB"]);
    expect(memoryScale(memory(300 * MiB)).domain).toEqual([0, 500]);
    expect(memoryScale(new Map()).domain).toBeUndefined();
  });

  it("rounds up to 1, 2, 2.5 or 5 times a power of ten", () => {
    expect([0.3, 1, 1.1, 2.2, 4, 7, 61, 250].map(niceCeiling)).toEqual([0.5, 1, 2, 2.5, 5, 10, 100, 250]);
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
