// The hosts of the fleets the caller's projects may use, grouped by fleet, refreshed every 5 s;
// SSH fleets can be deleted by their project's admins and managers (and global admins).

import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import Flashbar from "@cloudscape-design/components/flashbar";
import Header from "@cloudscape-design/components/header";
import Link from "@cloudscape-design/components/link";
import Select, { type SelectProps } from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import StatusIndicator from "@cloudscape-design/components/status-indicator";
import Table from "@cloudscape-design/components/table";
import { useEffect, useState } from "react";
import { RelativeTime } from "../components/RelativeTime";
import { ConfirmAction } from "../components/ConfirmAction";
import type { ApiClient } from "../api/client";
import { deleteFleets, listInstances, listProjects } from "../api/endpoints";
import type { Instance, ProjectInfo, UserInfo } from "../api/types";
import {
  type FleetGroup,
  formatResources,
  groupByFleet,
  instanceIndicatorType,
  isBeingRemoved,
  isSshFleet,
  jobLabel,
  mayManage,
  statusSummary,
} from "../fleets/format";
import { useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";
import { useFollow } from "../routing/navigation";
import { runHref } from "../routing/routes";
import { formatCost } from "../runs/format";

const POLL_MS = 5000;
const ALL: SelectProps.Option = { label: "All projects", value: "" };
const ALL_FLEETS: SelectProps.Option = { label: "All fleets", value: "" };

type Row = { kind: "fleet"; group: FleetGroup; children: Row[] } | { kind: "instance"; instance: Instance };

const rowKey = (row: Row): string => row.kind === "fleet" ? `fleet:${row.group.key}` : `instance:${row.instance.id}`;

const secondary = (text: string) => <Box variant="small" display="block" color="text-body-secondary">{text}</Box>;

export function FleetsPage({ api, user }: { api: ApiClient; user: UserInfo }) {
  const follow = useFollow();
  const flash = useFlash();
  const [projects, setProjects] = useState<ProjectInfo[]>([]);
  const [project, setProject] = useState("");
  const [fleet, setFleet] = useState("");
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [deleting, setDeleting] = useState<FleetGroup | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // Roles decide who may delete; without them only a global admin's buttons are enabled.
    listProjects(api).then(setProjects, () => undefined);
  }, [api]);

  const body = { project_names: project ? [project] : null };
  const instances = usePolling((signal) => listInstances(api, body, signal), POLL_MS, JSON.stringify(body));
  const groups = groupByFleet(instances.data ?? []);
  const shown = fleet ? groups.filter((group) => group.name === fleet) : groups;
  const rows: Row[] = shown.map((group) => ({
    kind: "fleet", group, children: group.instances.map((instance) => ({ kind: "instance", instance })),
  }));

  const roleIn = (name: string | null) => projects.find((p) => p.project_name === name)?.project_role;
  const deleteReason = (group: FleetGroup): string | undefined => {
    if (!mayManage(user.global_role, roleIn(group.project))) {
      return `Only admins and managers of project ${group.project} may delete its fleets`;
    }
    return isBeingRemoved(group) ? "The fleet is being deleted" : undefined;
  };

  const confirmDelete = async (group: FleetGroup): Promise<void> => {
    setBusy(true);
    try {
      await deleteFleets(api, group.project ?? "", [group.name]);
      flash.show({ type: "success", header: `Deleting fleet ${group.name}: its runs stop, then its hosts' workers`,
        problems: [] });
    } catch (error) {
      flash.showError(`Could not delete fleet ${group.name}`, error);
    } finally {
      setBusy(false);
      setDeleting(null);
      instances.refresh();
    }
  };

  const projectOptions = [ALL, ...projects.map((p) => ({ label: p.project_name, value: p.project_name }))];
  const fleetOptions = [ALL_FLEETS, ...[...new Set(groups.map((group) => group.name))].map((name) => ({ label: name, value: name }))];

  return (
    <SpaceBetween size="m">
      <Flashbar items={flash.items} />
      {instances.error && (
        <Flashbar items={[{ type: "error", header: "Could not load the fleets", content: instances.error.message, id: "load" }]} />
      )}
      <Table<Row>
        variant="full-page"
        items={rows}
        trackBy={rowKey}
        loading={instances.loading}
        loadingText="Loading fleets"
        wrapLines
        expandableRows={{
          getItemChildren: (row) => row.kind === "fleet" ? row.children : [],
          isItemExpandable: (row) => row.kind === "fleet",
          expandedItems: rows.filter((row) => row.kind === "fleet" && !collapsed.has(row.group.key)),
          onExpandableItemToggle: ({ detail }) => {
            if (detail.item.kind !== "fleet") return;
            const key = detail.item.group.key;
            setCollapsed((current) => {
              const next = new Set(current);
              if (detail.expanded) next.delete(key); else next.add(key);
              return next;
            });
          },
        }}
        empty={
          <Box textAlign="center" color="inherit" data-testid="fleets-empty">
            <SpaceBetween size="xxs">
              <b>No hosts</b>
              <span>
                Add one: run <code>durastack worker</code> on it with <code>DURASTACK_FLEET=NAME</code> (a fleet every
                project shares), or describe an SSH fleet in <code>fleet.yml</code> and
                run <code>durastack apply -f fleet.yml</code>.
              </span>
            </SpaceBetween>
          </Box>
        }
        header={
          <Header variant="awsui-h1-sticky" counter={instances.data ? `(${shown.length})` : undefined}
            description="The hosts of the fleets your projects may use, and the jobs on them">
            Fleets
          </Header>
        }
        filter={
          <SpaceBetween direction="horizontal" size="s">
            <Select selectedOption={projectOptions.find((option) => option.value === project) ?? ALL}
              options={projectOptions} ariaLabel="Project"
              onChange={({ detail }) => { setProject(detail.selectedOption.value ?? ""); setFleet(""); }} />
            <Select selectedOption={fleetOptions.find((option) => option.value === fleet) ?? ALL_FLEETS}
              options={fleetOptions} ariaLabel="Fleet"
              onChange={({ detail }) => setFleet(detail.selectedOption.value ?? "")} />
          </SpaceBetween>
        }
        columnDefinitions={[
          {
            id: "name", header: "Fleet / instance", isRowHeader: true,
            cell: (row) => row.kind === "fleet"
              ? <div><b>{row.group.name}</b>{secondary(isSshFleet(row.group)
                ? `SSH fleet of project ${row.group.project}` : "workers shared by every project")}</div>
              : <div><span title={row.instance.id}>{row.instance.name}</span>{secondary(row.instance.id)}</div>,
          },
          { id: "backend", header: "Backend", cell: (row) => row.kind === "instance" ? row.instance.backend : "" },
          {
            id: "status", header: "Status",
            cell: (row) => row.kind === "fleet"
              ? statusSummary(row.group.instances)
              : <StatusIndicator wrapText={false} type={instanceIndicatorType(row.instance.status)}>{row.instance.status}</StatusIndicator>,
          },
          {
            id: "resources", header: "Resources (free)",
            cell: (row) => row.kind === "instance"
              ? <div>{formatResources(row.instance.resources)}
                {secondary(`free: ${formatResources(row.instance.free, row.instance.resources)}`)}</div>
              : "",
          },
          { id: "price", header: "Price", cell: (row) => row.kind === "instance" ? `${formatCost(row.instance.price)}/h` : "" },
          {
            id: "last_seen", header: "Last seen",
            cell: (row) => row.kind === "instance"
              ? <RelativeTime iso={row.instance.last_seen_at} missing="never" />
              : "",
          },
          {
            id: "jobs", header: "Jobs",
            cell: (row) => {
              if (row.kind === "fleet") return "";
              if (!row.instance.jobs.length) return "-";
              return (
                <SpaceBetween direction="horizontal" size="xs">
                  {row.instance.jobs.map((job) => (
                    <Link key={job.submission_id} href={runHref(job.project_name, job.run_name, job.run_id)}
                      onFollow={follow}>{jobLabel(job)}</Link>
                  ))}
                </SpaceBetween>
              );
            },
          },
          {
            id: "actions", header: "Actions",
            cell: (row) => row.kind === "fleet" && isSshFleet(row.group)
              ? <Button wrapText={false} disabled={!!deleteReason(row.group)} disabledReason={deleteReason(row.group)}
                  ariaLabel={`Delete fleet ${row.group.name}`} onClick={() => setDeleting(row.group)}>Delete</Button>
              : "",
          },
        ]}
      />
      <ConfirmAction busy={busy} onCancel={() => setDeleting(null)} onConfirm={() => deleting && void confirmDelete(deleting)}
        confirmation={deleting && {
          header: `Delete fleet ${deleting.name}?`, action: "Delete", skippedNote: null,
          body: (
            <span>
              The runs on the {deleting.instances.length} host{deleting.instances.length === 1 ? "" : "s"} of
              fleet <b>{deleting.name}</b> (project {deleting.project}) are stopped, then its workers.
            </span>
          ),
        }} />
    </SpaceBetween>
  );
}
