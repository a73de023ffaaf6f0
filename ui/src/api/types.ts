// The API's bodies, under the names the UI uses. They come from schema.d.ts, which
// openapi-typescript generates from the API's OpenAPI document (api/schemas.py,
// api/account_schemas.py, api/fleet_schemas.py): `scripts/generate-api-types` after changing them.

import type { components } from "./schema";

type Schemas = components["schemas"];

export type RunStatus = Schemas["RunStatus"];
export type JobStatus = Schemas["JobStatus"];
export type JobSubmission = Schemas["JobSubmissionInfo"];
export type Job = Schemas["JobInfo"];
export type RunEvent = Schemas["RunEventInfo"];
export type Run = Schemas["Run"];
export type RunOutcome = Schemas["RunOutcome"];
export type RunOutcomes = Schemas["RunOutcomes"];
/** The body of `runs/list` for every project (`/api/runs/list`). */
export type ListRunsFilter = Schemas["ListAllRunsRequest"];
export type LogEvent = Schemas["LogEvent"];
export type JobLogs = Schemas["JobLogs"];
export type PollLogsRequest = Schemas["PollLogsRequest"];
export type PollAllReplicasLogsRequest = Schemas["PollAllReplicasLogsRequest"];
export type FieldChange = Schemas["FieldChange"];
/** What `apply` would do with a configuration (`runs/get_plan`). */
export type RunPlan = Schemas["RunPlan"];
export type RunSpec = Schemas["RunSpec"];
/** One replica's samples: a series per metric (cpu_usage_percent, memory_working_set_bytes), oldest first. */
export type Metric = Schemas["Metric"];
export type JobMetrics = Schemas["JobMetrics"];
export type GlobalRole = Schemas["GlobalRole"];
export type ProjectRole = Schemas["ProjectRole"];
export type UserInfo = Schemas["UserInfo"];
export type ProjectInfo = Schemas["ProjectInfo"];
export type Member = Schemas["Member"];
export type ProjectWithMembers = Schemas["ProjectWithMembers"];
export type FleetStatus = Schemas["FleetStatus"];
export type Fleet = Schemas["Fleet"];
export type InstanceStatus = Schemas["InstanceStatus"];
/** A host of a fleet, with what it advertises, what is free and the job submissions holding it. */
export type Instance = Schemas["Instance"];
export type InstanceResources = Schemas["InstanceResources"];
export type InstanceJob = Schemas["InstanceJob"];
/** The body of `/api/instances/list`. */
export type ListInstancesFilter = Schemas["ListInstancesRequest"];
/** A token as listed: its label, when it was made and last used; never its secret. */
export type TokenInfo = Schemas["TokenInfo"];
/** A token just issued, with its secret (`token`), shown this once. */
export type IssuedTokenInfo = Schemas["IssuedTokenInfo"];
/** A user just created, with their first token. */
export type UserWithToken = Schemas["UserWithToken"];
/** One member's role in `add_members`. */
export type MemberSetting = Schemas["MemberSetting"];
