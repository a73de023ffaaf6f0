// The runs list's filters and page, as the body of `POST /api/runs/list`: every filter runs on the
// server, so it reaches every page, not only the one in view (keyset pagination: a page starts
// after the last run of the page before it).

import type { ListRunsFilter, Run, RunStatus } from "../api/types";

export interface RunFilters {
  project: string | null;
  user: string;
  /** A piece of the name, in any case. */
  name: string;
  /** Exactly this name in `project`: a name's history (every run of it, newest first). */
  history: string | null;
  /** Any of these; none: any status. */
  statuses: RunStatus[];
  onlyActive: boolean;
  showDeleted: boolean;
}

/** Every run status, in the order of a run's life, for the status filter. */
export const RUN_STATUSES: readonly RunStatus[] = ["pending", "submitted", "provisioning", "running", "terminating", "terminated",
  "failed", "done"];

export const DEFAULT_FILTERS: RunFilters = {
  project: null, user: "", name: "", history: null, statuses: [], onlyActive: false, showDeleted: false,
};

export type Cursor = { prev_submitted_at: string; prev_run_id: string } | null;

export const cursorAfter = (run: Pick<Run, "submitted_at" | "id">): Cursor =>
  ({ prev_submitted_at: run.submitted_at, prev_run_id: run.id });

/** The filters that show a name's history: every run of that name in its project, deleted ones too
 * (they are part of it); the other filters are cleared, as they would hide some of it. */
export const historyFilters = (run: Pick<Run, "project_name" | "run_name">): RunFilters =>
  ({ ...DEFAULT_FILTERS, project: run.project_name, history: run.run_name, showDeleted: true });

/** Whether any filter narrows the list (an empty list then says so, rather than "no runs"). */
export const isFiltered = (filters: RunFilters): boolean =>
  JSON.stringify({ ...filters, showDeleted: false }) !== JSON.stringify({ ...DEFAULT_FILTERS, showDeleted: false });

/** One more run than the page shows, so that the page knows whether another follows. */
export function listBody(filters: RunFilters, cursor: Cursor, pageSize: number): ListRunsFilter {
  const body: ListRunsFilter = {
    only_active: filters.onlyActive,
    include_deleted: filters.showDeleted,
    limit: pageSize + 1,
  };
  if (filters.project) body.project_name = filters.project;
  if (filters.user.trim()) body.username = filters.user.trim();
  if (filters.history) body.run_name = filters.history;
  if (filters.name.trim()) body.name_contains = filters.name.trim();
  if (filters.statuses.length) body.statuses = [...filters.statuses];
  if (cursor) Object.assign(body, cursor);
  return body;
}

/** The filters as the list's address keeps them (`?project=main&history=web&deleted=1`), so that a
 * reload keeps them and a name's history can be linked to; "" for none. */
export function filtersToSearch(filters: RunFilters): string {
  const params = new URLSearchParams();
  if (filters.project) params.set("project", filters.project);
  if (filters.history) params.set("history", filters.history);
  if (filters.name.trim()) params.set("name", filters.name.trim());
  if (filters.user.trim()) params.set("user", filters.user.trim());
  if (filters.statuses.length) params.set("status", filters.statuses.join(","));
  if (filters.onlyActive) params.set("active", "1");
  if (filters.showDeleted) params.set("deleted", "1");
  const search = params.toString();
  return search ? `?${search}` : "";
}

/** The filters of an address; what it doesn't say (or says wrong, an unknown status) is the default. */
export function filtersFromSearch(search: string): RunFilters {
  const params = new URLSearchParams(search);
  const known = new Set<string>(RUN_STATUSES);
  return {
    project: params.get("project") || null,
    history: params.get("history") || null,
    name: params.get("name") ?? "",
    user: params.get("user") ?? "",
    statuses: (params.get("status") ?? "").split(",").filter((status): status is RunStatus => known.has(status)),
    onlyActive: params.get("active") === "1",
    showDeleted: params.get("deleted") === "1",
  };
}

/** Where a name's history is listed: every run of the name in its project, deleted ones too. */
export const historyHref = (run: Pick<Run, "project_name" | "run_name">): string =>
  `/runs${filtersToSearch(historyFilters(run))}`;
