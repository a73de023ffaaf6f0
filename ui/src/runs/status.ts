// Run and replica statuses (dstack's vocabulary, core/statuses.py) as Cloudscape shows them.

import type { StatusIndicatorProps } from "@cloudscape-design/components/status-indicator";
import type { JobStatus, RunStatus } from "../api/types";

const INDICATOR: Record<RunStatus | JobStatus, StatusIndicatorProps.Type> = {
  pending: "pending",
  submitted: "pending",
  provisioning: "loading",
  pulling: "loading",
  running: "success",
  terminating: "in-progress",
  terminated: "stopped",
  aborted: "stopped",
  failed: "error",
  done: "success",
};

const FINISHED = new Set<string>(["terminated", "aborted", "failed", "done"]);

// Reasons that only repeat what the status says.
const OBVIOUS_REASONS = new Set(["all_jobs_done", "done_by_runner"]);

/** The indicator type of a status; an unknown status (a newer server) reads as information. */
export function statusIndicatorType(status: string): StatusIndicatorProps.Type {
  return INDICATOR[status as RunStatus | JobStatus] ?? "info";
}

export function isFinished(status: string): boolean {
  return FINISHED.has(status);
}

/** "terminated (scaled_down)": the status, with its termination reason when that adds something. */
export function statusLabel(status: string, terminationReason: string | null = null): string {
  return terminationReason && !OBVIOUS_REASONS.has(terminationReason) ? `${status} (${terminationReason})` : status;
}

/** A status label in pieces that each end where a line may break: after each underscore of a
 * termination reason ("failed (container_" "exited_" "with_" "error)"), so that a narrow status
 * column wraps a long reason between its words instead of inside them. */
export const breakPoints = (label: string): string[] => label.split(/(?<=_)/);
