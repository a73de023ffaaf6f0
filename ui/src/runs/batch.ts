// A batch action on selected runs: ONE request per project, carrying the runs' ids (a name may
// have been reused by a newer run; an id never is), with one outcome per run in the answer.

import { ApiError, type ApiClient } from "../api/client";
import { deleteRuns, stopRuns } from "../api/endpoints";
import type { RunOutcome } from "../api/types";
import type { BatchAction } from "./outcomes";

export interface RunRef {
  id: string;
  project_name: string;
  run_name: string;
}

/** Run ids by project, in the order the runs were given. */
export function idsByProject(runs: RunRef[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const run of runs) {
    const ids = groups.get(run.project_name) ?? [];
    if (!ids.includes(run.id)) ids.push(run.id);
    groups.set(run.project_name, ids);
  }
  return groups;
}

type Send = (api: ApiClient, project: string, ids: string[]) => Promise<{ results: RunOutcome[] }>;

const SEND: Record<Exclude<BatchAction, "scale">, Send> = {
  stop: (api, project, ids) => stopRuns(api, project, ids, false),
  abort: (api, project, ids) => stopRuns(api, project, ids, true),
  delete: (api, project, ids) => deleteRuns(api, project, ids),
};

/** Every run's outcome, named by the run's name; a refused request is every one of its runs' outcome. */
export async function runBatch(api: ApiClient, action: Exclude<BatchAction, "scale">,
  runs: RunRef[]): Promise<RunOutcome[]> {
  const names = new Map(runs.map((run) => [run.id, run.run_name]));
  const answers = await Promise.all([...idsByProject(runs)].map(async ([project, ids]) => {
    try {
      return (await SEND[action](api, project, ids)).results;
    } catch (error) {
      const why = error instanceof ApiError ? error.message : String(error);
      return ids.map((id) => ({ run_name: id, id, outcome: `error: ${why}` }));
    }
  }));
  // The server names a run by the reference it was given (the id); people know runs by name.
  return answers.flat().map((result) => ({ ...result, run_name: names.get(result.id ?? result.run_name) ?? result.run_name }));
}
