// Every run the caller may see, newest first, refreshed every 2 s; Stop, Abort and Delete act on
// the selected runs with one request per project.

import Button from "@cloudscape-design/components/button";
import Flashbar from "@cloudscape-design/components/flashbar";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Link from "@cloudscape-design/components/link";
import Multiselect, { type MultiselectProps } from "@cloudscape-design/components/multiselect";
import Pagination from "@cloudscape-design/components/pagination";
import Select, { type SelectProps } from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Toggle from "@cloudscape-design/components/toggle";
import { useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { listProjects, listRuns } from "../api/endpoints";
import type { Run } from "../api/types";
import { Status } from "../components/Status";
import { useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";
import { useFollow } from "../routing/navigation";
import { runHref, submitHref } from "../routing/routes";
import { runBatch } from "../runs/batch";
import { formatCost, formatTime, replicasLabel, runHosts } from "../runs/format";
import { type Cursor, cursorAfter, DEFAULT_FILTERS, listBody, type RunFilters } from "../runs/listQuery";
import { type BatchAction, outcomeMessage } from "../runs/outcomes";
import { isFinished } from "../runs/status";

const PAGE_SIZE = 20;
const POLL_MS = 2000;
const STATUSES = ["pending", "submitted", "provisioning", "running", "terminating", "terminated", "failed", "done"];
const ALL_PROJECTS: SelectProps.Option = { label: "All projects", value: "" };

export function RunsListPage({ api }: { api: ApiClient }) {
  const follow = useFollow();
  const flash = useFlash();
  const [filters, setFilters] = useState<RunFilters>(DEFAULT_FILTERS);
  const [statuses, setStatuses] = useState<readonly MultiselectProps.Option[]>([]);
  const [cursors, setCursors] = useState<Cursor[]>([null]); // cursors[i] starts page i + 1
  const [pageIndex, setPageIndex] = useState(0);
  const [selected, setSelected] = useState<Run[]>([]);
  const [busy, setBusy] = useState<BatchAction | null>(null);
  const [projects, setProjects] = useState<SelectProps.Option[]>([ALL_PROJECTS]);

  useEffect(() => {
    listProjects(api).then(
      (found) => setProjects([ALL_PROJECTS, ...found.map((p) => ({ label: p.project_name, value: p.project_name }))]),
      () => undefined, // the filter still works by typing nothing; the list itself reports errors
    );
  }, [api]);

  const cursor = cursors[pageIndex] ?? null;
  const body = listBody(filters, cursor, PAGE_SIZE);
  // The key (the request body) restarts polling; the loader itself may be a new function each render.
  const runs = usePolling((signal) => listRuns(api, body, signal), POLL_MS, JSON.stringify(body));

  const page = runs.data?.slice(0, PAGE_SIZE) ?? [];
  const hasNext = (runs.data?.length ?? 0) > PAGE_SIZE;
  const wanted = new Set(statuses.map((option) => option.value));
  const shown = wanted.size ? page.filter((run) => wanted.has(run.status)) : page;
  // Selection survives refreshes: the rows are new objects, the ids are not.
  const selectedIds = new Set(selected.map((run) => run.id));
  const selectedNow = shown.filter((run) => selectedIds.has(run.id));

  const changeFilters = (change: Partial<RunFilters>): void => {
    setFilters((current) => ({ ...current, ...change }));
    setCursors([null]);
    setPageIndex(0);
    setSelected([]);
  };

  const act = async (action: Exclude<BatchAction, "scale">): Promise<void> => {
    setBusy(action);
    try {
      flash.show(outcomeMessage(action, await runBatch(api, action, selectedNow)));
      setSelected([]);
    } catch (error) {
      flash.showError(`Could not ${action} the runs`, error);
    } finally {
      setBusy(null);
      runs.refresh();
    }
  };

  const goTo = (index: number): void => {
    if (index > pageIndex && index === cursors.length) {
      const last = page.at(-1);
      if (!last) return;
      setCursors([...cursors, cursorAfter(last)]);
    }
    setPageIndex(index);
    setSelected([]);
  };

  const active = selectedNow.filter((run) => !isFinished(run.status));
  const finished = selectedNow.filter((run) => isFinished(run.status) && !run.deleted);

  return (
    <SpaceBetween size="m">
      <Flashbar items={flash.items} />
      {runs.error && <Flashbar items={[{ type: "error", header: "Could not load runs", content: runs.error.message, id: "load" }]} />}
      <Table<Run>
        variant="full-page"
        items={shown}
        trackBy="id"
        loading={runs.loading}
        loadingText="Loading runs"
        selectionType="multi"
        selectedItems={selectedNow}
        onSelectionChange={({ detail }) => setSelected(detail.selectedItems)}
        ariaLabels={{
          selectionGroupLabel: "Runs",
          allItemsSelectionLabel: () => "Select all runs",
          itemSelectionLabel: (_, run) => `Select ${run.run_name}`,
        }}
        empty={<span>No runs</span>}
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={selectedNow.length ? `(${selectedNow.length}/${shown.length})` : `(${shown.length}${hasNext ? "+" : ""})`}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button disabled={!active.length || !!busy} loading={busy === "stop"} onClick={() => void act("stop")}>Stop</Button>
                <Button disabled={!active.length || !!busy} loading={busy === "abort"} onClick={() => void act("abort")}>Abort</Button>
                <Button disabled={!finished.length || !!busy} loading={busy === "delete"} onClick={() => void act("delete")}>Delete</Button>
                <Button variant="primary" href={submitHref(filters.project)} onFollow={follow}>Submit a run</Button>
              </SpaceBetween>
            }
          >
            Runs
          </Header>
        }
        filter={
          <SpaceBetween direction="horizontal" size="s" alignItems="center">
            <Select
              selectedOption={projects.find((option) => option.value === (filters.project ?? "")) ?? ALL_PROJECTS}
              options={projects}
              onChange={({ detail }) => changeFilters({ project: detail.selectedOption.value || null })}
              ariaLabel="Project"
            />
            <Input type="search" placeholder="Run name" ariaLabel="Run name" value={filters.name}
              onChange={({ detail }) => changeFilters({ name: detail.value })} />
            <Input type="search" placeholder="User" ariaLabel="User" value={filters.user}
              onChange={({ detail }) => changeFilters({ user: detail.value })} />
            <Multiselect
              selectedOptions={statuses}
              options={STATUSES.map((status) => ({ label: status, value: status }))}
              onChange={({ detail }) => setStatuses(detail.selectedOptions)}
              placeholder="Any status"
              ariaLabel="Status"
              hideTokens
            />
            <Toggle checked={filters.onlyActive} onChange={({ detail }) => changeFilters({ onlyActive: detail.checked })}>
              Active only
            </Toggle>
            <Toggle checked={filters.showDeleted} onChange={({ detail }) => changeFilters({ showDeleted: detail.checked })}>
              Show deleted
            </Toggle>
          </SpaceBetween>
        }
        pagination={
          <Pagination
            currentPageIndex={pageIndex + 1}
            pagesCount={hasNext ? pageIndex + 2 : pageIndex + 1}
            openEnd={hasNext}
            onChange={({ detail }) => goTo(detail.currentPageIndex - 1)}
            ariaLabels={{ nextPageLabel: "Next page", previousPageLabel: "Previous page", pageLabel: (n) => `Page ${n}` }}
          />
        }
        columnDefinitions={[
          {
            id: "name", header: "Name", isRowHeader: true,
            cell: (run) => <Link href={runHref(run.project_name, run.run_name, run.id)} onFollow={follow}>{run.run_name}</Link>,
          },
          { id: "project", header: "Project", cell: (run) => run.project_name },
          { id: "user", header: "User", cell: (run) => run.user },
          {
            id: "status", header: "Status",
            cell: (run) => <Status status={run.status} terminationReason={run.termination_reason} deleted={run.deleted} />,
          },
          { id: "replicas", header: "Replicas", cell: replicasLabel },
          { id: "submitted", header: "Submitted", cell: (run) => formatTime(run.submitted_at) },
          { id: "finished", header: "Finished", cell: (run) => formatTime(run.finished_at) },
          { id: "cost", header: "Cost", cell: (run) => formatCost(run.cost) },
          { id: "cost_rate", header: "Cost rate", cell: (run) => `${formatCost(run.cost_per_hour)}/h` },
          { id: "host", header: "Host", cell: runHosts },
        ]}
      />
    </SpaceBetween>
  );
}
