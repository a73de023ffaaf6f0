// The runs list's filters and page, as the body of `POST /api/runs/list` (keyset pagination:
// a page starts after the last run of the page before it).

import type { ListRunsFilter, Run } from "../api/types";

export interface RunFilters {
  project: string | null;
  user: string;
  name: string;
  onlyActive: boolean;
  showDeleted: boolean;
}

export const DEFAULT_FILTERS: RunFilters = { project: null, user: "", name: "", onlyActive: false, showDeleted: false };

export type Cursor = { prev_submitted_at: string; prev_run_id: string } | null;

export const cursorAfter = (run: Pick<Run, "submitted_at" | "id">): Cursor =>
  ({ prev_submitted_at: run.submitted_at, prev_run_id: run.id });

/** One more run than the page shows, so that the page knows whether another follows. */
export function listBody(filters: RunFilters, cursor: Cursor, pageSize: number): ListRunsFilter {
  const body: ListRunsFilter = {
    only_active: filters.onlyActive,
    include_deleted: filters.showDeleted,
    limit: pageSize + 1,
  };
  if (filters.project) body.project_name = filters.project;
  if (filters.user.trim()) body.username = filters.user.trim();
  if (filters.name.trim()) body.run_name = filters.name.trim();
  if (cursor) Object.assign(body, cursor);
  return body;
}
