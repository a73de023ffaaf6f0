"""Request and response bodies. Field names follow dstack's REST API where one exists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.fields import (
    TEXT_PATTERN,
    Flag,
    Integer,
    LogToken,
    ProjectName,
    ReplicaNum,
    ReplicasLogToken,
    RunName,
    SubmissionNum,
    Text,
    UserName,
    UtcTime,
    both_or_neither,
    exactly_one_of,
)
from core.configuration import MAX_CONFIGURATION_YAML_CHARS, MAX_REPLICAS
from core.statuses import JobStatus, JobTerminationReason, RunStatus, RunTerminationReason


class _Request(BaseModel):
    # api/openapi.py publishes extra="forbid" as additionalProperties: false, and a model's
    # json_schema_extra as rules of the whole body.
    model_config = ConfigDict(extra="forbid")


# The code a run takes along: a tar.gz of its configuration's directory, at most this big.
MAX_CODE_BYTES = 100 * 1024 * 1024  # 100 MB (MB is 1024² bytes, as in run configurations)
CODE_HASH_PATTERN = r"^[0-9a-f]{64}$"
CodeHash = Annotated[str, StringConstraints(pattern=CODE_HASH_PATTERN)]


ConfigurationYaml = Annotated[str, StringConstraints(pattern=TEXT_PATTERN, max_length=MAX_CONFIGURATION_YAML_CHARS)]


class RunSpec(_Request):
    run_name: RunName | None = Field(default=None, description="overrides the configuration's `name`")
    configuration: dict[str, Any]
    configuration_yaml: ConfigurationYaml | None = Field(
        default=None, description=(
            "the YAML text `configuration` was read from, kept with the run and shown as it was written (comments, "
            "order, block scalars); it must parse to the same configuration, else 400 naming this field"))
    configuration_path: Text | None = None
    repo_code_hash: CodeHash | None = Field(
        default=None, description="sha256 of code uploaded with code/upload: each job's home holds it, unpacked, "
                                  "and a relative working_dir is relative to it")


class ApplyRunRequest(_Request):
    run_spec: RunSpec


class GetRunRequest(_Request):
    """Exactly one of `run_name` and `id`."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("run_name", "id"))

    run_name: RunName | None = None
    id: Text | None = None

    @model_validator(mode="after")
    def _one_key(self) -> GetRunRequest:
        if (self.run_name is None) == (self.id is None):
            raise ValueError("give exactly one of run_name or id")
        return self


# A piece of a run name to look for (any text: a piece need not be a valid name itself).
NameFragment = Annotated[str, StringConstraints(pattern=TEXT_PATTERN, min_length=1, max_length=100)]


class ListRunsRequest(_Request):
    """A page starts after the run given by `prev_submitted_at` and `prev_run_id` (both or neither)."""

    model_config = ConfigDict(json_schema_extra=both_or_neither("prev_submitted_at", "prev_run_id"))

    only_active: Flag = False
    include_deleted: Flag = Field(default=True, description="deleted runs are listed with deleted: true")
    username: UserName | None = Field(default=None, description="only this user's runs")
    run_name: RunName | None = Field(default=None, description="only runs of exactly this name: its history")
    name_contains: NameFragment | None = Field(
        default=None, description="only runs whose name contains this text, ignoring case (no wildcards: % and _ "
                                  "match themselves)")
    statuses: list[RunStatus] | None = Field(
        default=None, description="only runs in one of these statuses; null or empty: any status")
    limit: Integer = Field(default=100, ge=1, le=1000)
    prev_submitted_at: UtcTime | None = Field(default=None, description="the last run of the previous page")
    prev_run_id: Text | None = None

    @model_validator(mode="after")
    def _whole_cursor(self) -> ListRunsRequest:
        if (self.prev_submitted_at is None) != (self.prev_run_id is None):
            raise ValueError("give both prev_submitted_at and prev_run_id, or neither")
        return self


class ListAllRunsRequest(ListRunsRequest):
    project_name: ProjectName | None = Field(default=None, description="only this project's runs")


class RunPlanRequest(_Request):
    run_spec: RunSpec


class StopRunsRequest(_Request):
    runs_names: list[Text] = Field(min_length=1, max_length=10_000)
    abort: Flag = False


class ScaleRunsRequest(_Request):
    runs_names: list[Text] = Field(min_length=1, max_length=10_000)
    replicas: Integer = Field(ge=0, le=MAX_REPLICAS)


class DeleteRunsRequest(_Request):
    runs_names: list[Text] = Field(min_length=1, max_length=10_000)


class JobSubmissionInfo(BaseModel):
    id: str
    submission_num: int
    status: JobStatus
    status_message: str
    termination_reason: JobTerminationReason | None
    exit_code: int | None
    host: str | None = Field(description="the host's display name")
    host_id: str | None = Field(default=None, description="the host's id, unique among hosts")
    gpus: list[int] = Field(default_factory=list, description="indices of the host's GPUs it holds")
    address: str | None = Field(default=None, description="a service replica's host address, as its proxy "
                                                          "reaches it")
    port: int | None = Field(default=None, description="a service replica's port (its PORT)")
    ready: bool = Field(default=False, description="a service replica takes requests (its probes pass)")
    deployment_num: int = Field(default=0, description="the deployment of the service it runs")
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    price_per_hour: float
    cost: float


class JobInfo(BaseModel):
    replica_num: int
    job_submissions: list[JobSubmissionInfo]


class RunEventInfo(BaseModel):
    timestamp: datetime
    message: str
    replica_num: int | None
    submission_num: int | None


class ServiceInfo(BaseModel):
    url: str = Field(description="where clients reach the service: the API's proxy, "
                                 "{DURASTACK_PUBLIC_URL}/proxy/services/{project}/{run}/")
    ready_replicas: int = Field(description="replicas that take requests now (running, probes passing, not "
                                            "draining)")


class Run(BaseModel):
    id: str
    project_name: str
    user: str
    run_name: str
    status: RunStatus
    status_message: str
    termination_reason: RunTerminationReason | None
    submitted_at: datetime
    finished_at: datetime | None
    desired_replicas: int
    running_replicas: int
    cost: float
    cost_per_hour: float = Field(description="what the run costs now: prices of replicas holding an instance")
    deleted: bool
    configuration: dict[str, Any]
    configuration_yaml: str | None = Field(default=None, description=(
        "the YAML the run's configuration was submitted as, when the client sent it and it is still what the run "
        "runs (a rolling update that failed went back to another); null in lists"))
    repo_code_hash: str | None = Field(default=None, description=(
        "sha256 of the code the run's jobs take along (code/upload); null without code, and in lists"))
    jobs: list[JobInfo]
    events: list[RunEventInfo]
    workflow_id: str
    temporal_ui_url: str | None = Field(
        description="the run's workflow in the Temporal Web UI; null unless the caller is a global admin (the "
                    "Temporal UI shows every project) and the server knows the UI's address")
    can_manage: bool = Field(
        description="whether the caller may stop, scale and delete this run: its owner, a project admin or manager, "
                    "or a global admin")
    version: int
    source: Literal["workflow", "projection"] = Field(
        description="workflow: a live query; projection: the database copy")
    service: ServiceInfo | None = Field(default=None, description="a service's address and readiness; null for "
                                                                  "a task")


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any


RunPlanAction = Literal["create", "update", "rolling_update", "no_change", "replace"]


class RunPlan(BaseModel):
    """What `apply` would do with this configuration, for the CLI and UI to ask the right question."""

    run_name: str | None = Field(description="null: a name will be generated")
    action: RunPlanAction = Field(description=(
        "create: a new run (the name is free, or only finished runs used it); update: the active service "
        "of that name is changed in place (only replicas, scaling, auth or strip_prefix changed); "
        "rolling_update: the active service rolls out a new deployment (new replicas become ready, then old "
        "ones drain and stop, one at a time); no_change: the active run already has this configuration; "
        "replace: the active run must be stopped first, then a new run submitted"))
    current_run: Run | None = Field(description="the active run of that name, if any")
    finished_runs: int = Field(description="finished runs that used the name; they stay in history")
    changes: list[FieldChange] = Field(description="what differs from the active run's configuration")
    message: str


class RunOutcome(BaseModel):
    run_name: str
    id: str | None
    outcome: str


class RunOutcomes(BaseModel):
    results: list[RunOutcome]


class PollLogsRequest(_Request):
    """Exactly one of `run_name` and `run_id`."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("run_name", "run_id"))

    run_name: RunName | None = None
    run_id: Text | None = None
    replica_num: ReplicaNum = 0
    submission_num: SubmissionNum | None = Field(default=None, description="only this submission; default: all")
    next_token: LogToken | None = Field(default=None, description="the `next_token` of the previous page")
    descending: Flag = Field(default=False, description=(
        "read backwards: the lines before `next_token` (the newest lines without it), newest first"))
    limit: Integer = Field(default=1000, ge=1, le=5000)

    @model_validator(mode="after")
    def _one_key(self) -> PollLogsRequest:
        if (self.run_name is None) == (self.run_id is None):
            raise ValueError("give exactly one of run_name or run_id")
        return self


class PollAllReplicasLogsRequest(_Request):
    """Exactly one of `run_name` and `run_id`."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("run_name", "run_id"))

    run_name: RunName | None = None
    run_id: Text | None = None
    next_token: ReplicasLogToken | None = Field(default=None, description=(
        "the `next_token` (or `follow_token`) of an earlier page: `replica:submission:offset` for each replica, "
        "comma-separated, where that replica's lines divide into earlier and later ones"))
    descending: Flag = Field(default=False, description=(
        "read backwards: the lines before `next_token` (the newest lines without it), newest first"))
    limit: Integer = Field(default=1000, ge=1, le=5000)

    @model_validator(mode="after")
    def _one_key(self) -> PollAllReplicasLogsRequest:
        if (self.run_name is None) == (self.run_id is None):
            raise ValueError("give exactly one of run_name or run_id")
        return self


class LogEvent(BaseModel):
    timestamp: datetime
    log_source: Literal["stdout", "stderr"]
    message: str
    replica_num: int
    submission_num: int
    offset: int


class JobLogs(BaseModel):
    logs: list[LogEvent]
    next_token: str | None = Field(description=(
        "where the next page in the same direction starts; descending: null once the first line has been read"))
    follow_token: str | None = Field(description=(
        "descending pages without a `next_token`: the token of an ascending poll that goes on after the newest "
        "lines read (to show a log's end, then follow it); null otherwise"))


class LogStreamEvent(BaseModel):
    """One Server-Sent Event of logs/follow."""

    event: Literal["log", "end"] = Field(
        description="log: one line; end: the run has finished and every line was sent, and the stream ends")
    data: str = Field(json_schema_extra={"contentMediaType": "application/json"},
                      description='log: the line, a LogEvent; end: {"run_id": ...}')
    id: LogToken | None = Field(default=None, description="log: the next_token to resume after this line")


class Metric(BaseModel):
    name: str
    timestamps: list[datetime]
    values: list[float]


class JobMetrics(BaseModel):
    """One replica's samples, as dstack shapes job metrics: one series per metric, oldest first."""

    metrics: list[Metric]


class ReplicaStats(BaseModel):
    replica_num: int
    submission_num: int
    status: JobStatus
    cpu_percent: float | None = Field(description="summed over the replica's processes; 100 is one busy core")
    memory_bytes: int | None = Field(description="resident memory of the replica's processes")
    timestamp: datetime | None = Field(description="when the latest sample was taken; null: none yet")


class RunStats(BaseModel):
    run_name: str
    status: RunStatus
    replicas: list[ReplicaStats] = Field(description="the replicas running now, with their latest sample")


class GetCodeInfoRequest(_Request):
    hash: CodeHash


class CodeInfo(BaseModel):
    hash: str = Field(description="sha256 of the archive, in hex")
    size: int = Field(description="bytes of the archive (a tar.gz)")


class UploadedCode(CodeInfo):
    created: bool = Field(description="false: the project already had this archive, and it was not written again")
