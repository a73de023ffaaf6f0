// The runs list's columns, which of them show by default, and the column preferences a person
// may change (kept in this browser). The defaults fit 1280 px with the side navigation open.

import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import type { CollectionPreferencesProps } from "@cloudscape-design/components/collection-preferences";
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

const LABELS: Record<string, string> = {
  name: "Name and short id", owner: "Project / user", status: "Status", replicas: "Replicas",
  resources: "Resources", price: "Price (per hour, per replica)", cost: "Cost", submitted: "Submitted",
  finished: "Finished", cost_rate: "Cost rate (all replicas, now)", host: "Host",
};

/** Shown by default: what tells runs apart and what they cost. Finished, cost rate and host are a
 * preference away. */
const HIDDEN_BY_DEFAULT = new Set(["finished", "cost_rate", "host"]);

export const DEFAULT_COLUMNS: CollectionPreferencesProps.ContentDisplayItem[] = Object.keys(LABELS)
  .map((id) => ({ id, visible: !HIDDEN_BY_DEFAULT.has(id) }));

export const COLUMN_OPTIONS: CollectionPreferencesProps.ContentDisplayOption[] = Object.entries(LABELS)
  .map(([id, label]) => ({ id, label, alwaysVisible: id === "name" }));

const STORAGE_KEY = "durastack.runs.columns";

/** The columns this browser chose last time: known ids only, and any column added since at its default. */
export function loadColumns(storage: Pick<Storage, "getItem"> | undefined = globalThis.localStorage):
  CollectionPreferencesProps.ContentDisplayItem[] {
  try {
    const saved: unknown = JSON.parse(storage?.getItem(STORAGE_KEY) ?? "null");
    if (!Array.isArray(saved)) return DEFAULT_COLUMNS;
    const known = saved.filter((item): item is { id: string; visible: boolean } =>
      typeof item?.id === "string" && item.id in LABELS && typeof item.visible === "boolean");
    const seen = new Set(known.map((item) => item.id));
    return [...known.map(({ id, visible }) => ({ id, visible })), ...DEFAULT_COLUMNS.filter((item) => !seen.has(item.id))];
  } catch {
    return DEFAULT_COLUMNS;
  }
}

export function saveColumns(columns: readonly CollectionPreferencesProps.ContentDisplayItem[],
  storage: Pick<Storage, "setItem"> | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(columns));
  } catch {
    // Storage may be full or refused (private browsing): the choice lasts for this page only.
  }
}
