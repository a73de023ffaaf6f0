// How run fields read in tables and headers.

import type { Job, JobSubmission, Run } from "../api/types";

export function formatTime(iso: string | null): string {
  if (!iso) return "-";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Dollars with cents, the same precision everywhere; what is more than nothing but less than a
 * cent says so instead of rounding to "$0.00" or growing more digits than its neighbours. */
export function formatCost(dollars: number): string {
  if (dollars > 0 && dollars < 0.005) return "<$0.01";
  return `$${dollars.toFixed(2)}`;
}

export const lastSubmission = (job: Job): JobSubmission | undefined => job.job_submissions.at(-1);

/** The hosts of the replicas' latest submissions, each once. */
export function runHosts(run: Pick<Run, "jobs">): string {
  const hosts = run.jobs.map((job) => lastSubmission(job)?.host).filter((host): host is string => !!host);
  return [...new Set(hosts)].join(", ") || "-";
}

/** What a replica's host cell says under the host's name: its id (unique, where the name may not be)
 * and the indices of the host's GPUs the submission holds; "" when there is nothing to add. */
export function hostDetails(submission: Pick<JobSubmission, "host" | "host_id" | "gpus">): string {
  const gpus = submission.gpus ?? [];
  return [
    submission.host_id && submission.host_id !== submission.host ? submission.host_id : "",
    gpus.length ? `GPU${gpus.length === 1 ? "" : "s"} ${gpus.join(", ")}` : "",
  ].filter(Boolean).join(" · ");
}

export const replicasLabel = (run: Pick<Run, "running_replicas" | "desired_replicas">): string =>
  `${run.running_replicas}/${run.desired_replicas}`;

export interface ReplicaRange {
  min: number;
  max: number;
}

/** Why a service can't be scaled by hand when its range is a single count, and how to change that;
 * null when it can. */
export function fixedReplicasHint(range: ReplicaRange): string | null {
  if (range.min !== range.max) return null;
  return `Fixed at ${range.max} replica${range.max === 1 ? "" : "s"}. To scale it, apply it with a range ` +
    `(for example replicas: ${range.max}..${range.max + 2}).`;
}

/** A service's `replicas` (N, "min..max" or {min, max}); null for a task or a value it cannot read. */
export function replicaRange(configuration: Record<string, unknown>): ReplicaRange | null {
  if (configuration.type !== "service") return null;
  const value = configuration.replicas ?? 1;
  if (typeof value === "number") return { min: value, max: value };
  if (typeof value === "string") {
    const match = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(value);
    if (!match) return null;
    const min = Number(match[1]);
    return { min, max: match[2] === undefined ? min : Number(match[2]) };
  }
  if (typeof value === "object" && value !== null) {
    const { min, max } = value as { min?: unknown; max?: unknown };
    if (typeof min === "number" && typeof max === "number") return { min, max };
  }
  return null;
}

/** "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago" (then the date): how long ago a time
 * was, at a glance; the exact time goes in a tooltip (formatTime). "in 3 min" for a time ahead of
 * this browser's clock (a server's clock may run a little ahead). "-" for none. */
export function formatRelativeTime(iso: string | null, now: number = Date.now()): string {
  if (!iso) return "-";
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  const ahead = seconds < 0;
  const span = Math.abs(seconds);
  if (span < 5) return "just now";
  const amount = span < 60 ? `${span} s`
    : span < 3600 ? `${Math.floor(span / 60)} min`
      : span < 86_400 ? `${Math.floor(span / 3600)} h`
        : span < 30 * 86_400 ? `${Math.floor(span / 86_400)} d`
          : null;
  if (amount === null) return new Date(then).toLocaleDateString();
  return ahead ? `in ${amount}` : `${amount} ago`;
}

/** The first 8 characters of a run id: enough to tell apart runs that share a name. */
export const shortId = (id: string): string => id.slice(0, 8);

/** What each replica asks for, from the run's configuration (as the API writes it:
 * `{cpu: 0.5, memory: "512MB", gpu: {name: [A100], count: 2, memory: "40960MB"}}`):
 * "0.5 CPU, 512MB, 2×A100 (≥40GB)"; "-" when the configuration has none. */
export function formatRunResources(configuration: Record<string, unknown>): string {
  const resources = configuration.resources;
  if (typeof resources !== "object" || resources === null) return "-";
  const { cpu, memory, gpu } = resources as { cpu?: unknown; memory?: unknown; gpu?: unknown };
  const parts: string[] = [];
  if (typeof cpu === "number") parts.push(`${cpu} CPU`);
  if (typeof memory === "string") parts.push(readableSize(memory));
  if (typeof gpu === "object" && gpu !== null) {
    const { name, count, memory: gpuMemory } = gpu as { name?: unknown; count?: unknown; memory?: unknown };
    const models = Array.isArray(name) && name.length ? name.join("/") : "GPU";
    const least = typeof gpuMemory === "string" ? ` (≥${readableSize(gpuMemory)})` : "";
    parts.push(`${typeof count === "number" ? count : 1}×${models}${least}`);
  }
  return parts.join(", ") || "-";
}

/** "40960MB" → "40GB" (whole gigabytes read as such, as the server writes them); anything else as is. */
function readableSize(size: string): string {
  const match = /^(\d+)MB$/.exec(size);
  if (!match) return size;
  const mb = Number(match[1]);
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024}GB` : size;
}

/** The hourly price of the instances of the replicas' latest submissions (those that got one, so
 * a finished run keeps the price it ran at): "$3.60/h" for one price, "$1.00–$3.60/h" when
 * replicas differ; "-" before any replica has started. */
export function formatPrice(run: Pick<Run, "jobs">): string {
  const prices = run.jobs.map(lastSubmission)
    .filter((s): s is JobSubmission => !!s && s.started_at !== null)
    .map((s) => s.price_per_hour);
  if (!prices.length) return "-";
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  return low === high ? `${formatCost(low)}/h` : `${formatCost(low)}–${formatCost(high)}/h`;
}
