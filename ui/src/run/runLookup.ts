// How a run's page finds what it shows. Opened by name, it shows the latest run of that name and
// then pins itself to that run's id (the address too), so that a reload shows the same run even
// once it is deleted or a newer run takes the name; each poll also reads the name's latest run, to
// say so. A run that is not there (404) stops the polling: asking again would not make it appear.

import { ApiError, type ApiClient } from "../api/client";
import { getRun, listRuns } from "../api/endpoints";
import type { Run } from "../api/types";

export interface Shown {
  run: Run;
  /** The latest run of the name that is not deleted; null when there is none (all deleted). */
  latest: Run | null;
}

/** The run with `pinnedId` (or, without one, the latest run of the name) and the name's latest run. */
export async function loadShown(api: ApiClient, project: string, name: string, pinnedId: string | null,
  signal?: AbortSignal): Promise<Shown> {
  if (!pinnedId) {
    const found = await getRun(api, project, { run_name: name }, signal);
    return { run: found, latest: found };
  }
  const [found, latest] = await Promise.all([getRun(api, project, { id: pinnedId }, signal),
    latestOfName(api, project, name, signal)]);
  return { run: found, latest };
}

/** The newest run of the name that is not deleted: what `get` by name answers (an active run is
 * always its name's newest), read from the list, which costs no query of a workflow. */
export async function latestOfName(api: ApiClient, project: string, name: string,
  signal?: AbortSignal): Promise<Run | null> {
  const [latest] = await listRuns(api, { project_name: project, run_name: name, include_deleted: false, limit: 1 },
    signal);
  return latest ?? null;
}

/** Every run that used the name, deleted ones too, newest first: where a page whose run is not found
 * sends its reader. Empty when even that can't be read. */
export async function historyOfName(api: ApiClient, project: string, name: string, limit = 10,
  signal?: AbortSignal): Promise<Run[]> {
  try {
    return await listRuns(api, { project_name: project, run_name: name, include_deleted: true, limit }, signal);
  } catch {
    return [];
  }
}

/** The server says there is no such run (or project, for this caller): polling again won't change that. */
export const isNotFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
