import Box from "@cloudscape-design/components/box";
import Header from "@cloudscape-design/components/header";
import Table from "@cloudscape-design/components/table";
import type { Job } from "../api/types";
import { Status } from "../components/Status";
import { formatCost, formatTime, hostDetails, lastSubmission } from "../runs/format";
import { readiness } from "../service/serving";

/** Each replica's latest submission. */
export function ReplicasTable({ jobs }: { jobs: Job[] }) {
  return (
    <Table<Job>
      header={<Header counter={`(${jobs.length})`}>Replicas</Header>}
      items={jobs}
      trackBy={(job) => String(job.replica_num)}
      empty={<span>No replicas yet</span>}
      columnDefinitions={[
        { id: "replica", header: "Replica", isRowHeader: true, cell: (job) => job.replica_num },
        {
          id: "status", header: "Status",
          cell: (job) => {
            const submission = lastSubmission(job);
            if (!submission) return "-";
            const ready = readiness(submission);
            return (
              <div>
                <Status status={submission.status} terminationReason={submission.termination_reason} />
                {ready && <Box variant="small" display="block" color="text-body-secondary">{ready}</Box>}
              </div>
            );
          },
        },
        {
          id: "submission", header: "Submission",
          cell: (job) => {
            const submission = lastSubmission(job);
            if (!submission) return "-";
            return submission.deployment_num ? `${submission.submission_num} (deployment ${submission.deployment_num})`
              : submission.submission_num;
          },
        },
        {
          id: "host", header: "Host",
          cell: (job) => {
            const submission = lastSubmission(job);
            if (!submission?.host) return "-";
            const details = hostDetails(submission);
            return (
              <div title={submission.host_id ?? undefined}>
                {submission.host}
                {details && <Box variant="small" display="block" color="text-body-secondary">{details}</Box>}
              </div>
            );
          },
        },
        { id: "submitted", header: "Submitted", cell: (job) => formatTime(lastSubmission(job)?.submitted_at ?? null) },
        { id: "started", header: "Started", cell: (job) => formatTime(lastSubmission(job)?.started_at ?? null) },
        { id: "finished", header: "Finished", cell: (job) => formatTime(lastSubmission(job)?.finished_at ?? null) },
        { id: "exit", header: "Exit code", cell: (job) => lastSubmission(job)?.exit_code ?? "-" },
        { id: "cost", header: "Cost", cell: (job) => formatCost(job.job_submissions.reduce((sum, s) => sum + s.cost, 0)) },
      ]}
    />
  );
}
