// The runs list's columns (which of them show is columnPreferences.ts's).

import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Link from "@cloudscape-design/components/link";
import SpaceBetween from "@cloudscape-design/components/space-between";
import type { TableProps } from "@cloudscape-design/components/table";
import type { Run } from "../api/types";
import { RelativeTime } from "../components/RelativeTime";
import { Status } from "../components/Status";
import { runHref } from "../routing/routes";
import { formatCost, formatPrice, formatRunResources, replicasLabel, runHosts, shortId } from "./format";

type Follow = (event: CustomEvent<{ href?: string; external?: boolean }>) => void;

interface ColumnActions {
  follow: Follow;
  /** Show every run of this run's name (in its project). */
  showHistory: (run: Run) => void;
}

export function runColumns({ follow, showHistory }: ColumnActions): TableProps.ColumnDefinition<Run>[] {
  return [
    {
      // The short id under the name tells apart runs that share it.
      id: "name", header: "Name", isRowHeader: true, minWidth: 130,
      cell: (run) => (
        <div>
          <SpaceBetween direction="horizontal" size="xxs" alignItems="center">
            <Link href={runHref(run.project_name, run.run_name, run.id)} onFollow={follow}>{run.run_name}</Link>
            <span title="Every run of this name">
              <Button variant="inline-icon" iconName="history" ariaLabel={`History of ${run.run_name}`}
                onClick={() => showHistory(run)} />
            </span>
          </SpaceBetween>
          <Box variant="code" fontSize="body-s" color="text-body-secondary">
            <span title={`run id ${run.id}`} data-testid="short-id">{shortId(run.id)}</span>
          </Box>
        </div>
      ),
    },
    {
      id: "owner", header: "Project / user",
      cell: (run) => <div><div>{run.project_name}</div><div>{run.user}</div></div>,
    },
    {
      id: "status", header: "Status", minWidth: 130,
      cell: (run) => <Status status={run.status} terminationReason={run.termination_reason} deleted={run.deleted} />,
    },
    { id: "replicas", header: "Replicas", cell: replicasLabel },
    { id: "resources", header: "Resources", cell: (run) => formatRunResources(run.configuration) },
    { id: "price", header: "Price", cell: formatPrice },
    { id: "cost", header: "Cost", cell: (run) => formatCost(run.cost) },
    { id: "submitted", header: "Submitted", cell: (run) => <RelativeTime iso={run.submitted_at} /> },
    { id: "finished", header: "Finished", cell: (run) => <RelativeTime iso={run.finished_at} /> },
    { id: "cost_rate", header: "Cost rate", cell: (run) => `${formatCost(run.cost_per_hour)}/h` },
    { id: "host", header: "Host", cell: runHosts },
  ];
}
