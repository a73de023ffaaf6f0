// What a service's page says about serving: where it is reached, how many replicas take requests,
// what the autoscaler last decided, and the deployment it runs (or rolls out).

import type { JobSubmission, Run } from "../api/types";

export interface Serving {
  url: string;
  readyReplicas: number;
  /** "rps, target 3 per replica, window 1m" when the service autoscales, else null. */
  autoscaling: string | null;
  /** The autoscaler's latest event, e.g. "autoscaler: 1 → 3 (12.1 rps, target 3)", with its time. */
  lastDecision: { message: string; timestamp: string } | null;
  /** The deployment its newest replicas run, and whether a rolling update is under way. */
  deployment: number;
  rollingOut: boolean;
}

const AUTOSCALER = "autoscaler: ";
const ROLLOUT = /^rolling update to deployment (\d+) \(/;
const ROLLOUT_END = /^rolling update to deployment (\d+) (done|failed)/;

export function serving(run: Pick<Run, "service" | "configuration" | "events" | "jobs">): Serving | null {
  if (!run.service) return null;
  const decision = [...run.events].reverse().find((event) => event.message.startsWith(AUTOSCALER));
  const started = [...run.events].reverse().find((event) => ROLLOUT.test(event.message));
  const ended = started && run.events.slice(run.events.indexOf(started)).some((event) => ROLLOUT_END.test(event.message));
  const current = run.jobs.map((job) => job.job_submissions.at(-1)).filter((s): s is JobSubmission => !!s);
  return {
    url: run.service.url,
    readyReplicas: run.service.ready_replicas,
    autoscaling: describeScaling(run.configuration.scaling),
    lastDecision: decision ? { message: decision.message, timestamp: decision.timestamp } : null,
    deployment: Math.max(0, ...current.filter((s) => !isFinishedStatus(s.status)).map((s) => s.deployment_num ?? 0)),
    rollingOut: !!started && !ended,
  };
}

function describeScaling(scaling: unknown): string | null {
  if (!scaling || typeof scaling !== "object") return null;
  const { metric, target, window } = scaling as { metric?: string; target?: number; window?: string };
  return [`${metric ?? "rps"}, target ${target ?? "?"} per replica`, window ? `window ${window}` : ""]
    .filter(Boolean).join(", ");
}

/** A running service replica's readiness, as the replicas table shows it under its status. */
export function readiness(submission: Pick<JobSubmission, "status" | "port" | "ready">): string {
  if (submission.status !== "running" || submission.port == null) return "";
  return submission.ready ? `ready on port ${submission.port}` : `not ready (port ${submission.port})`;
}

const FINISHED = new Set(["terminated", "aborted", "failed", "done"]);
const isFinishedStatus = (status: string): boolean => FINISHED.has(status);
