// The API's endpoints that the UI calls, one function each.

import type { ApiClient } from "./client";
import type {
  Fleet,
  Instance,
  JobLogs,
  JobMetrics,
  ListInstancesFilter,
  ListRunsFilter,
  PollAllReplicasLogsRequest,
  PollLogsRequest,
  ProjectInfo,
  ProjectWithMembers,
  Run,
  RunOutcomes,
  RunPlan,
  RunSpec,
  UserInfo,
} from "./types";
import type { GlobalRole, IssuedTokenInfo, MemberSetting, TokenInfo, UserWithToken } from "./types";

const project = (name: string): string => `/api/project/${encodeURIComponent(name)}`;

export const getMyUser = (api: ApiClient): Promise<UserInfo> => api.post("/api/users/get_my_user");

export const listProjects = (api: ApiClient, signal?: AbortSignal): Promise<ProjectInfo[]> =>
  api.post("/api/projects/list", {}, signal);

/** A project and its members (members only; every project for a global admin). */
export const getProject = (api: ApiClient, projectName: string, signal?: AbortSignal): Promise<ProjectWithMembers> =>
  api.post(`/api/projects/${encodeURIComponent(projectName)}/get`, {}, signal);

/** Every user: global admins only (403 for anyone else). */
export const listUsers = (api: ApiClient, signal?: AbortSignal): Promise<UserInfo[]> =>
  api.post("/api/users/list", {}, signal);

/** What `applyRun` would do with this spec, so that the page can ask the right question first. */
export const getPlan = (api: ApiClient, projectName: string, runSpec: RunSpec): Promise<RunPlan> =>
  api.post(`${project(projectName)}/runs/get_plan`, { run_spec: runSpec });

export const applyRun = (api: ApiClient, projectName: string, runSpec: RunSpec): Promise<Run> =>
  api.post(`${project(projectName)}/runs/apply`, { run_spec: runSpec });

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

/** A page of one replica's lines: after `next_token`, or (`descending`) before it, newest first. */
export const pollLogs = (api: ApiClient, projectName: string, query: PollLogsRequest,
  signal?: AbortSignal): Promise<JobLogs> => api.post(`${project(projectName)}/logs/poll`, query, signal);

/** A page of every replica's lines, merged in time order, each with its `replica_num`. */
export const pollAllReplicasLogs = (api: ApiClient, projectName: string, query: PollAllReplicasLogsRequest,
  signal?: AbortSignal): Promise<JobLogs> => api.post(`${project(projectName)}/logs/poll_all_replicas`, query, signal);

/** The whole log as the server streams it (one replica's, or every replica's when `replica_num` is null). */
export const downloadLogs = (api: ApiClient, projectName: string,
  query: { run_id: string; replica_num: number | null; timestamps: boolean }): Promise<Blob> =>
  api.getBlob(`${project(projectName)}/logs/download`, {
    run_id: query.run_id, replica_num: query.replica_num, all_replicas: query.replica_num === null ? true : null,
    timestamps: query.timestamps,
  });

/** One replica's CPU and memory samples of the run with this id, oldest first; `after` (a sample's
 * timestamp) asks only for newer ones. */
export const jobMetrics = (api: ApiClient, projectName: string,
  query: { run_name: string; run_id: string; replica_num: number; after: string | null; limit: number },
  signal?: AbortSignal): Promise<JobMetrics> =>
  api.get(`${project(projectName)}/metrics/job/${encodeURIComponent(query.run_name)}`,
    { run_id: query.run_id, replica_num: query.replica_num, after: query.after, limit: query.limit }, signal);

/** Hosts of the fleets the caller's projects may use (of `project_names` only, when given). */
export const listInstances = (api: ApiClient, filter: ListInstancesFilter, signal?: AbortSignal): Promise<Instance[]> =>
  api.post("/api/instances/list", filter, signal);

/** SSH fleets of a project (project admins and managers): their runs are stopped, then their workers. */
export const deleteFleets = (api: ApiClient, projectName: string, names: string[]): Promise<Fleet[]> =>
  api.post(`${project(projectName)}/fleets/delete`, { names });

/** Global admins only: a user and their first token (its secret shown this once). */
export const createUser = (api: ApiClient, username: string, globalRole: GlobalRole): Promise<UserWithToken> =>
  api.post("/api/users/create", { username, global_role: globalRole });

/** Global admins only; the last global admin can't be demoted (409). */
export const setGlobalRole = (api: ApiClient, username: string, globalRole: GlobalRole): Promise<UserInfo> =>
  api.post("/api/users/update", { username, global_role: globalRole });

/** The caller's tokens that still work, oldest first, without their secrets. */
export const listMyTokens = (api: ApiClient, signal?: AbortSignal): Promise<TokenInfo[]> =>
  api.post("/api/users/tokens/list", {}, signal);

/** A new token of the caller's; its secret is in the answer only. */
export const createMyToken = (api: ApiClient, name: string): Promise<IssuedTokenInfo> =>
  api.post("/api/users/tokens/create", { name });

export const revokeToken = (api: ApiClient, id: string): Promise<TokenInfo> =>
  api.post("/api/users/tokens/revoke", { id });

/** Anyone may create a project and becomes its admin. */
export const createProject = (api: ApiClient, projectName: string): Promise<ProjectWithMembers> =>
  api.post("/api/projects/create", { project_name: projectName });

/** Project admins and global admins; refused (409) while a project has active runs or fleets. */
export const deleteProjects = (api: ApiClient, projectNames: string[]): Promise<ProjectInfo[]> =>
  api.post("/api/projects/delete", { projects_names: projectNames });

/** Adds members or changes their role (admins: any role; managers: `user` members only). */
export const addMembers = (api: ApiClient, projectName: string, members: MemberSetting[]): Promise<ProjectWithMembers> =>
  api.post(`/api/projects/${encodeURIComponent(projectName)}/add_members`, { members });

export const removeMembers = (api: ApiClient, projectName: string, usernames: string[]): Promise<ProjectWithMembers> =>
  api.post(`/api/projects/${encodeURIComponent(projectName)}/remove_members`, { usernames });
