import Box from "@cloudscape-design/components/box";
import Header from "@cloudscape-design/components/header";
import Table from "@cloudscape-design/components/table";
import type { ReactNode } from "react";
import type { Job } from "../api/types";
import { RelativeTime } from "../components/RelativeTime";
import { Status } from "../components/Status";
import { formatCost, hostDetails, lastSubmission } from "../runs/format";
import { readiness } from "../service/serving";
import { attemptLabel, exitCodeLabel } from "./replicaCells";

const secondary = (text: string): ReactNode =>
  text ? <Box variant="small" display="block" color="text-body-secondary">{text}</Box> : null;

/** Each replica's latest submission. Its cells wrap rather than widen the table: a long status
 * ("terminated (failed_to_start_due_to_no_capacity)") must not push the exit code and cost out of
 * a 1280-pixel window. */
export function ReplicasTable({ jobs }: { jobs: Job[] }) {
  return (
    <Table<Job>
      header={<Header counter={`(${jobs.length})`}>Replicas</Header>}
      items={jobs}
      trackBy={(job) => String(job.replica_num)}
      wrapLines
      empty={<span>No replicas yet</span>}
      columnDefinitions={[
        {
          id: "replica", header: "Replica", isRowHeader: true,
          cell: (job) => {
            const submission = lastSubmission(job);
            return <div>{job.replica_num}{submission && secondary(attemptLabel(submission))}</div>;
          },
        },
        {
          id: "status", header: "Status", minWidth: 190,
          cell: (job) => {
            const submission = lastSubmission(job);
            if (!submission) return "-";
            return (
              <div>
                <Status status={submission.status} terminationReason={submission.termination_reason} />
                {secondary(readiness(submission))}
                {secondary(submission.status_message)}
              </div>
            );
          },
        },
        {
          id: "exit", header: "Exit code",
          cell: (job) => <span data-testid={`exit-code-${job.replica_num}`}>{exitCodeLabel(lastSubmission(job))}</span>,
        },
        {
          id: "host", header: "Host",
          cell: (job) => {
            const submission = lastSubmission(job);
            if (!submission?.host) return "-";
            return <div title={submission.host_id ?? undefined}>{submission.host}{secondary(hostDetails(submission))}</div>;
          },
        },
        { id: "submitted", header: "Submitted", cell: (job) => <RelativeTime iso={lastSubmission(job)?.submitted_at ?? null} /> },
        { id: "started", header: "Started", cell: (job) => <RelativeTime iso={lastSubmission(job)?.started_at ?? null} /> },
        { id: "finished", header: "Finished", cell: (job) => <RelativeTime iso={lastSubmission(job)?.finished_at ?? null} /> },
        { id: "cost", header: "Cost", cell: (job) => formatCost(job.job_submissions.reduce((sum, s) => sum + s.cost, 0)) },
      ]}
    />
  );
}
