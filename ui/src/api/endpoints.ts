// The API's endpoints that the UI calls, one function each.

import type { ApiClient } from "./client";
import type { JobLogs, ListRunsFilter, ProjectInfo, Run, RunOutcomes, UserInfo } from "./types";

const project = (name: string): string => `/api/project/${encodeURIComponent(name)}`;

export const getMyUser = (api: ApiClient): Promise<UserInfo> => api.post("/api/users/get_my_user");

export const listProjects = (api: ApiClient): Promise<ProjectInfo[]> => api.post("/api/projects/list");

/** Runs of every project the caller may see, newest first. */
export const listRuns = (api: ApiClient, filter: ListRunsFilter, signal?: AbortSignal): Promise<Run[]> =>
  api.post("/api/runs/list", filter, signal);

export const getRun = (api: ApiClient, projectName: string, key: { run_name: string } | { id: string },
  signal?: AbortSignal): Promise<Run> => api.post(`${project(projectName)}/runs/get`, key, signal);

/** One request for every run given (ids or names) of one project. */
export const stopRuns = (api: ApiClient, projectName: string, runs: string[], abort: boolean): Promise<RunOutcomes> =>
  api.post(`${project(projectName)}/runs/stop`, { runs_names: runs, abort });

export const deleteRuns = (api: ApiClient, projectName: string, runs: string[]): Promise<RunOutcomes> =>
  api.post(`${project(projectName)}/runs/delete`, { runs_names: runs });

export const scaleRuns = (api: ApiClient, projectName: string, runs: string[], replicas: number): Promise<RunOutcomes> =>
  api.post(`${project(projectName)}/runs/scale`, { runs_names: runs, replicas });

export const pollLogs = (api: ApiClient, projectName: string,
  query: { run_id: string; replica_num: number; next_token: string | null; limit?: number },
  signal?: AbortSignal): Promise<JobLogs> => api.post(`${project(projectName)}/logs/poll`, query, signal);
