// The API's bodies (api/schemas.py, api/account_schemas.py), as the UI reads them.

export type RunStatus =
  | "pending"
  | "submitted"
  | "provisioning"
  | "running"
  | "terminating"
  | "terminated"
  | "failed"
  | "done";

export type JobStatus =
  | "submitted"
  | "provisioning"
  | "pulling"
  | "running"
  | "terminating"
  | "terminated"
  | "aborted"
  | "failed"
  | "done";

export interface JobSubmission {
  id: string;
  submission_num: number;
  status: JobStatus;
  status_message: string;
  termination_reason: string | null;
  exit_code: number | null;
  host: string | null;
  submitted_at: string;
  started_at: string | null;
  finished_at: string | null;
  price_per_hour: number;
  cost: number;
}

export interface Job {
  replica_num: number;
  job_submissions: JobSubmission[];
}

export interface RunEvent {
  timestamp: string;
  message: string;
  replica_num: number | null;
  submission_num: number | null;
}

export interface Run {
  id: string;
  project_name: string;
  user: string;
  run_name: string;
  status: RunStatus;
  status_message: string;
  termination_reason: string | null;
  submitted_at: string;
  finished_at: string | null;
  desired_replicas: number;
  running_replicas: number;
  cost: number;
  cost_per_hour: number;
  deleted: boolean;
  configuration: Record<string, unknown>;
  jobs: Job[];
  events: RunEvent[];
  workflow_id: string;
  temporal_ui_url: string | null;
  version: number;
  source: "workflow" | "projection";
}

export interface RunOutcome {
  run_name: string;
  id: string | null;
  outcome: string;
}

export interface RunOutcomes {
  results: RunOutcome[];
}

export interface ListRunsFilter {
  project_name?: string;
  username?: string;
  run_name?: string;
  only_active?: boolean;
  include_deleted?: boolean;
  limit?: number;
  prev_submitted_at?: string;
  prev_run_id?: string;
}

export interface LogEvent {
  timestamp: string;
  log_source: "stdout" | "stderr";
  message: string;
  submission_num: number;
  offset: number;
}

export interface JobLogs {
  logs: LogEvent[];
  next_token: string | null;
}

export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
}

/** What `apply` would do with a configuration (`runs/get_plan`). */
export interface RunPlan {
  run_name: string | null;
  action: "create" | "update" | "no_change" | "replace";
  current_run: Run | null;
  finished_runs: number;
  changes: FieldChange[];
  message: string;
}

export interface RunSpec {
  configuration: Record<string, unknown>;
  run_name: string | null;
}

/** One replica's samples: a series per metric (cpu_usage_percent, memory_working_set_bytes), oldest first. */
export interface Metric {
  name: string;
  timestamps: string[];
  values: number[];
}

export interface JobMetrics {
  metrics: Metric[];
}

export type GlobalRole = "admin" | "user";
export type ProjectRole = "admin" | "manager" | "user";

export interface UserInfo {
  username: string;
  global_role: GlobalRole;
  created_at: string;
}

export interface ProjectInfo {
  project_name: string;
  created_at: string;
  /** The caller's role; null for a global admin who is not a member. */
  project_role: ProjectRole | null;
}

export interface Member {
  username: string;
  project_role: ProjectRole;
}

export interface ProjectWithMembers extends ProjectInfo {
  members: Member[];
}
