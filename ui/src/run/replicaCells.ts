// What the replicas table says about a replica's latest submission, beyond its status: which
// attempt it is, and how it ended.

import type { JobSubmission } from "../api/types";

/** "submission 3 · deployment 1" under the replica's number: "" for a first attempt of the first deployment. */
export function attemptLabel(submission: Pick<JobSubmission, "submission_num" | "deployment_num">): string {
  return [
    submission.submission_num ? `submission ${submission.submission_num}` : "",
    submission.deployment_num ? `deployment ${submission.deployment_num}` : "",
  ].filter(Boolean).join(" · ");
}

/** The exit code of a submission whose process ended ("3", "0"); "-" while it runs or when it was
 * stopped before it could report one. */
export const exitCodeLabel = (submission: Pick<JobSubmission, "exit_code"> | undefined): string =>
  submission?.exit_code === null || submission?.exit_code === undefined ? "-" : String(submission.exit_code);
