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
