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

/** One line per replica, in replica order; replicas without samples are left out. */
export function chartSeries(samples: ReplicaSamples, metric: "cpu" | "memory"): Series[] {
  return [...samples.entries()]
    .filter(([, replicaSamples]) => replicaSamples.length > 0)
    .sort(([a], [b]) => a - b)
    .map(([replica, replicaSamples]) => ({
      type: "line",
      title: `Replica ${replica}`,
      data: replicaSamples.map((sample) => ({ x: sample.time, y: metric === "cpu" ? sample.cpuPercent : sample.memoryBytes })),
      valueFormatter: metric === "cpu" ? formatPercent : formatBytes,
    }));
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

export const formatPercent = (percent: number): string => `${Number(percent.toFixed(1))}%`;
