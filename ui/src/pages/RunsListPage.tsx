// Every run the caller may see, newest first, refreshed every 2 s. The filters run on the server
// (every page, not only the one in view). Stop, Abort and Delete ask first, then act on the
// selected runs the caller may manage, with one request per project.

import Alert from "@cloudscape-design/components/alert";
import Box from "@cloudscape-design/components/box";
import Button from "@cloudscape-design/components/button";
import CollectionPreferences from "@cloudscape-design/components/collection-preferences";
import Flashbar from "@cloudscape-design/components/flashbar";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import Multiselect from "@cloudscape-design/components/multiselect";
import Pagination from "@cloudscape-design/components/pagination";
import Select, { type SelectProps } from "@cloudscape-design/components/select";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import Toggle from "@cloudscape-design/components/toggle";
import { useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { listProjects, listRuns } from "../api/endpoints";
import type { Run, RunOutcome } from "../api/types";
import { ConfirmAction } from "../components/ConfirmAction";
import { useFlash } from "../hooks/useFlash";
import { usePolling } from "../hooks/usePolling";
import { useFollow } from "../routing/navigation";
import { submitHref } from "../routing/routes";
import { runBatch } from "../runs/batch";
import {
  type Cursor,
  cursorAfter,
  DEFAULT_FILTERS,
  filtersFromSearch,
  filtersToSearch,
  historyFilters,
  isFiltered,
  listBody,
  RUN_STATUSES,
  type RunFilters,
} from "../runs/listQuery";
import { confirmation, notYoursReason, planBatch, type RunAction } from "../runs/manage";
import { outcomeMessage } from "../runs/outcomes";
import { COLUMN_OPTIONS, loadColumns, saveColumns } from "../runs/columnPreferences";
import { runColumns } from "../runs/RunColumns";

const PAGE_SIZE = 20;
const POLL_MS = 2000;
const ALL_PROJECTS: SelectProps.Option = { label: "All projects", value: "" };
const ACTIONS: RunAction[] = ["stop", "abort", "delete"];
const LABEL: Record<RunAction, string> = { stop: "Stop", abort: "Abort", delete: "Delete" };

export function RunsListPage({ api }: { api: ApiClient }) {
  const follow = useFollow();
  const flash = useFlash();
  const [filters, setFilters] = useState<RunFilters>(() => filtersFromSearch(window.location.search));
  const [cursors, setCursors] = useState<Cursor[]>([null]); // cursors[i] starts page i + 1
  const [pageIndex, setPageIndex] = useState(0);
  const [selected, setSelected] = useState<Run[]>([]);
  const [confirming, setConfirming] = useState<RunAction | null>(null);
  const [busy, setBusy] = useState<RunAction | null>(null);
  const [projects, setProjects] = useState<SelectProps.Option[]>([ALL_PROJECTS]);
  const [columns, setColumns] = useState(loadColumns);

  useEffect(() => {
    listProjects(api).then(
      (found) => setProjects([ALL_PROJECTS, ...found.map((p) => ({ label: p.project_name, value: p.project_name }))]),
      () => undefined, // the filter still works by typing nothing; the list itself reports errors
    );
  }, [api]);

  // The address keeps the filters (a reload keeps them, a name's history can be linked to); replaced,
  // not pushed: each keystroke in a filter is no step for the back button.
  useEffect(() => {
    const href = `/runs${filtersToSearch(filters)}`;
    if (href !== window.location.pathname + window.location.search) window.history.replaceState(null, "", href);
  }, [filters]);

  const cursor = cursors[pageIndex] ?? null;
  const body = listBody(filters, cursor, PAGE_SIZE);
  // The key (the request body) restarts polling; the loader itself may be a new function each render.
  const runs = usePolling((signal) => listRuns(api, body, signal), POLL_MS, JSON.stringify(body));

  const page = runs.data?.slice(0, PAGE_SIZE) ?? [];
  const hasNext = (runs.data?.length ?? 0) > PAGE_SIZE;
  // Selection survives refreshes: the rows are new objects, the ids are not.
  const selectedIds = new Set(selected.map((run) => run.id));
  const selectedNow = page.filter((run) => selectedIds.has(run.id));
  const plans = { stop: planBatch("stop", selectedNow), abort: planBatch("abort", selectedNow),
    delete: planBatch("delete", selectedNow) };
  const asking = confirming && confirmation(confirming, plans[confirming].acting, plans[confirming].skipped);

  const changeFilters = (change: Partial<RunFilters>): void => {
    setFilters((current) => ({ ...current, ...change }));
    setCursors([null]);
    setPageIndex(0);
    setSelected([]);
  };

  const act = async (action: RunAction): Promise<void> => {
    const { acting, skipped } = plans[action];
    setBusy(action);
    try {
      // The runs the caller may not manage are not sent; the message names them with the others.
      const left: RunOutcome[] = skipped.map((run) => ({ run_name: run.run_name, id: run.id,
        outcome: `error: ${notYoursReason(action).toLowerCase()}` }));
      flash.show(outcomeMessage(action, [...await runBatch(api, action, acting), ...left]));
      setSelected([]);
    } catch (error) {
      flash.showError(`Could not ${action} the runs`, error);
    } finally {
      setBusy(null);
      setConfirming(null);
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

  const showHistory = (run: Run): void => {
    changeFilters(historyFilters(run));
  };

  return (
    <SpaceBetween size="m">
      <Flashbar items={flash.items} />
      {runs.error && <Flashbar items={[{ type: "error", header: "Could not load runs", content: runs.error.message, id: "load" }]} />}
      <Table<Run>
        variant="full-page"
        items={page}
        trackBy="id"
        loading={runs.loading}
        loadingText="Loading runs"
        selectionType="multi"
        selectedItems={selectedNow}
        onSelectionChange={({ detail }) => setSelected(detail.selectedItems)}
        wrapLines
        columnDisplay={columns}
        ariaLabels={{
          tableLabel: "Runs",
          selectionGroupLabel: "Runs",
          allItemsSelectionLabel: () => "Select all runs",
          itemSelectionLabel: (_, run) => `Select ${run.run_name}`,
        }}
        empty={
          <Box textAlign="center" color="inherit">
            {isFiltered(filters) ? (
              <SpaceBetween size="xs">
                <span>No runs match the filters</span>
                <Button onClick={() => changeFilters({ ...DEFAULT_FILTERS, showDeleted: filters.showDeleted })}>
                  Clear filters
                </Button>
              </SpaceBetween>
            ) : <span>No runs</span>}
          </Box>
        }
        header={
          <Header
            variant="awsui-h1-sticky"
            counter={selectedNow.length ? `(${selectedNow.length}/${page.length})` : `(${page.length}${hasNext ? "+" : ""})`}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                {ACTIONS.map((action) => (
                  <Button key={action} disabled={!!plans[action].disabledReason || !!busy}
                    disabledReason={plans[action].disabledReason ?? undefined} loading={busy === action}
                    onClick={() => setConfirming(action)}>
                    {LABEL[action]}
                  </Button>
                ))}
                <Button variant="primary" href={submitHref(filters.project)} onFollow={follow}>Submit a run</Button>
              </SpaceBetween>
            }
          >
            Runs
          </Header>
        }
        filter={
          <SpaceBetween size="s">
            <SpaceBetween direction="horizontal" size="s" alignItems="center">
              <Select
                selectedOption={projects.find((option) => option.value === (filters.project ?? "")) ?? ALL_PROJECTS}
                options={projects}
                onChange={({ detail }) => changeFilters({ project: detail.selectedOption.value || null, history: null })}
                ariaLabel="Project"
              />
              <Input type="search" placeholder="Name contains" ariaLabel="Run name" value={filters.name}
                onChange={({ detail }) => changeFilters({ name: detail.value })} />
              <Input type="search" placeholder="User" ariaLabel="User" value={filters.user}
                onChange={({ detail }) => changeFilters({ user: detail.value })} />
              <Multiselect
                selectedOptions={filters.statuses.map((status) => ({ label: status, value: status }))}
                options={RUN_STATUSES.map((status) => ({ label: status, value: status }))}
                onChange={({ detail }) => changeFilters({
                  statuses: RUN_STATUSES.filter((status) => detail.selectedOptions.some((option) => option.value === status)),
                })}
                // With a choice, the placeholder is only read out after it ("failed, done statuses (2)").
                placeholder={filters.statuses.length ? "statuses" : "Any status"}
                ariaLabel="Status"
                inlineTokens
                deselectAriaLabel={(option) => `Remove ${option.label ?? ""}`}
              />
              <Toggle checked={filters.onlyActive} onChange={({ detail }) => changeFilters({ onlyActive: detail.checked })}>
                Active only
              </Toggle>
              <Toggle checked={filters.showDeleted} onChange={({ detail }) => changeFilters({ showDeleted: detail.checked })}>
                Show deleted
              </Toggle>
            </SpaceBetween>
            {filters.history && (
              <Alert type="info" header={`History of ${filters.history}`}
                action={<Button onClick={() => changeFilters({ history: null })}>Show all runs</Button>}>
                Every run named {filters.history} in project {filters.project}, newest first, deleted ones included.
              </Alert>
            )}
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
        preferences={
          <CollectionPreferences
            title="Preferences"
            confirmLabel="Confirm"
            cancelLabel="Cancel"
            preferences={{ contentDisplay: columns }}
            contentDisplayPreference={{ title: "Columns", options: COLUMN_OPTIONS }}
            onConfirm={({ detail }) => {
              const chosen = detail.contentDisplay ?? columns;
              setColumns([...chosen]);
              saveColumns(chosen);
            }}
          />
        }
        columnDefinitions={runColumns({ follow, showHistory })}
      />
      <ConfirmAction confirmation={asking} busy={busy !== null} onCancel={() => setConfirming(null)}
        onConfirm={() => { if (confirming) void act(confirming); }} />
    </SpaceBetween>
  );
}
