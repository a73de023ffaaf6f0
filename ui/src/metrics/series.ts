// A run's CPU and memory samples, per replica, shaped for charts. The API answers one replica's
// series per request (`metrics/job`: a series per metric, oldest first); the page keeps what it
// has read and asks only for samples after the last one.

import type { MixedLineBarChartProps } from "@cloudscape-design/components/mixed-line-bar-chart";
import type { JobMetrics } from "../api/types";

export const CPU_METRIC = "cpu_usage_percent";
export const MEMORY_METRIC = "memory_working_set_bytes";

export interface Sample {
  /** As the server wrote it (microseconds): sent back as `after`, which a Date would round. */
  timestamp: string;
  time: Date;
  /** Summed over the replica's processes; 100 is one busy core. */
  cpuPercent: number;
  memoryBytes: number;
}

/** The samples of one answer, pairing its CPU and memory series by timestamp. */
export function samplesOf(answer: JobMetrics): Sample[] {
  const cpu = answer.metrics.find((metric) => metric.name === CPU_METRIC);
  const memory = answer.metrics.find((metric) => metric.name === MEMORY_METRIC);
  if (!cpu || !memory) return [];
  const memoryAt = new Map(memory.timestamps.map((timestamp, index) => [timestamp, memory.values[index]]));
  return cpu.timestamps.flatMap((timestamp, index) => {
    const cpuPercent = cpu.values[index];
    const memoryBytes = memoryAt.get(timestamp);
    return cpuPercent === undefined || memoryBytes === undefined ? []
      : [{ timestamp, time: new Date(timestamp), cpuPercent, memoryBytes }];
  });
}

/** `known` followed by the samples of `fresh` that are newer than its last, keeping the newest `max`. */
export function appendSamples(known: readonly Sample[], fresh: readonly Sample[], max: number): Sample[] {
  const last = known.at(-1)?.time.getTime() ?? -Infinity;
  const lastStamp = known.at(-1)?.timestamp;
  const newer = fresh.filter((sample) => sample.time.getTime() > last
    || (sample.time.getTime() === last && sample.timestamp > (lastStamp ?? "")));
  return newer.length ? [...known, ...newer].slice(-max) : [...known];
}

export type ReplicaSamples = ReadonlyMap<number, readonly Sample[]>;

type Series = MixedLineBarChartProps.LineDataSeries<Date>;

/** Samples further than this from a moment say nothing about it: the host samples every 5 s. */
export const SAMPLE_INTERVAL_MS = 5000;

/** One line per replica, in replica order; replicas without samples are left out. The lines share
 * their moments: each replica has a point at every moment any replica was sampled within its own
 * span, valued by its nearest sample (at most a sampling interval away), so that the chart's
 * popover shows every replica wherever it is pointed, hosts sampling at other moments included. */
export function chartSeries(samples: ReplicaSamples, metric: "cpu" | "memory", scale: MemoryScale = BYTES): Series[] {
  const lines = [...samples.entries()].filter(([, replicaSamples]) => replicaSamples.length > 0).sort(([a], [b]) => a - b);
  const moments = [...new Set(lines.flatMap(([, replicaSamples]) => replicaSamples.map((s) => s.time.getTime())))]
    .sort((a, b) => a - b);
  const valueOf = (sample: Sample): number => (metric === "cpu" ? sample.cpuPercent : sample.memoryBytes / scale.divisor);
  return lines.map(([replica, replicaSamples]) => ({
    type: "line",
    title: `Replica ${replica}`,
    data: alignedPoints(replicaSamples, moments).map(([moment, sample]) => ({ x: new Date(moment), y: valueOf(sample) })),
    valueFormatter: metric === "cpu" ? formatPercent : scale.format,
  }));
}

/** The replica's nearest sample at each of `moments` (sorted) between its first and last sample
 * that has one within SAMPLE_INTERVAL_MS. */
export function alignedPoints(samples: readonly Sample[], moments: readonly number[]): [number, Sample][] {
  const first = samples[0]?.time.getTime() ?? Infinity;
  const last = samples.at(-1)?.time.getTime() ?? -Infinity;
  const points: [number, Sample][] = [];
  let next = 0; // the first sample at or after the moment: moments and samples both ascend
  for (const moment of moments) {
    if (moment < first || moment > last) continue;
    while (next < samples.length && (samples[next]?.time.getTime() ?? Infinity) < moment) next += 1;
    const after = samples[next];
    const before = samples[next - 1];
    const nearest = [before, after].filter((s): s is Sample => s !== undefined)
      .reduce<Sample | undefined>((best, s) => (best === undefined
        || Math.abs(s.time.getTime() - moment) < Math.abs(best.time.getTime() - moment) ? s : best), undefined);
    if (nearest && Math.abs(nearest.time.getTime() - moment) <= SAMPLE_INTERVAL_MS) points.push([moment, nearest]);
  }
  return points;
}

/** The fewest samples any replica has: a line needs two to be drawn. */
export function fewestSamples(samples: ReplicaSamples): number {
  const counts = [...samples.values()].map((replica) => replica.length).filter((count) => count > 0);
  return counts.length ? Math.min(...counts) : 0;
}

/** CPU's scale starts at one whole core (100%), so that an idle replica reads as idle, not as a
 * line in the middle of a chart with no scale. */
export function cpuDomain(samples: ReplicaSamples): [number, number] {
  const highest = Math.max(0, ...[...samples.values()].flatMap((replica) => replica.map((sample) => sample.cpuPercent)));
  return [0, highest <= 100 ? 100 : Math.ceil(highest / 100) * 100];
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** Binary units, as `resources.memory` reads them (512MB = 512 MiB). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** How the memory chart draws bytes: in one binary unit (KB = 1024 B, as `resources.memory` reads
 * it), so that the chart's ticks, round decimal numbers of what it draws, are round numbers of that
 * unit (1 MB, 2 MB) instead of round numbers of bytes (977 KB, 1.9 MB). */
export interface MemoryScale {
  /** Bytes per drawn unit. */
  divisor: number;
  /** From zero to a round number of the unit at or above the largest sample; undefined without samples. */
  domain: [number, number] | undefined;
  /** A drawn value (a tick, a point) in the unit: "1.5 MB". */
  format: (value: number) => string;
}

const BYTES: MemoryScale = { divisor: 1, domain: undefined, format: formatBytes };

export function memoryScale(samples: ReplicaSamples): MemoryScale {
  const highest = Math.max(0, ...[...samples.values()].flatMap((replica) => replica.map((sample) => sample.memoryBytes)));
  if (highest === 0) return BYTES;
  let unit = Math.min(Math.floor(Math.log(highest) / Math.log(1024)), UNITS.length - 1);
  // 1,000 KB and more rounds up past 1,024 KB: that is 1 MB.
  if (niceCeiling(highest / 1024 ** unit) >= 1024 && unit < UNITS.length - 1) unit += 1;
  const divisor = 1024 ** unit;
  const name = UNITS[unit] ?? "B";
  return {
    divisor,
    domain: [0, niceCeiling(highest / divisor)],
    // Ticks are round already; a popover's value keeps a decimal below 10.
    format: (value) => `${Number(value.toFixed(value < 10 ? 1 : 0))} ${name}`,
  };
}

/** The smallest of 1, 2, 2.5, 5 × a power of ten that is at least `value` (> 0). */
export function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((candidate) => candidate * power >= value * (1 - 1e-9)) ?? 10;
  return step * power;
}

export const formatPercent = (percent: number): string => `${Number(percent.toFixed(1))}%`;
