"""Request and response bodies. Field names follow dstack's REST API where one exists."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.statuses import JobStatus, JobTerminationReason, RunStatus, RunTerminationReason


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSpec(_Request):
    run_name: str | None = None
    configuration: dict[str, Any]
    configuration_path: str | None = None


class ApplyRunRequest(_Request):
    run_spec: RunSpec


class GetRunRequest(_Request):
    run_name: str | None = None
    id: str | None = None

    @model_validator(mode="after")
    def _one_key(self) -> GetRunRequest:
        if (self.run_name is None) == (self.id is None):
            raise ValueError("give exactly one of run_name or id")
        return self


class ListRunsRequest(_Request):
    only_active: bool = False
    include_deleted: bool = Field(default=True, description="deleted runs are listed with deleted: true")
    username: str | None = Field(default=None, description="only this user's runs")
    run_name: str | None = Field(default=None, description="only runs of this name: its history")
    limit: int = Field(default=100, ge=1, le=1000)
    prev_submitted_at: datetime | None = Field(default=None, description="the last run of the previous page")
    prev_run_id: str | None = None

    @model_validator(mode="after")
    def _whole_cursor(self) -> ListRunsRequest:
        if (self.prev_submitted_at is None) != (self.prev_run_id is None):
            raise ValueError("give both prev_submitted_at and prev_run_id, or neither")
        return self


class ListAllRunsRequest(ListRunsRequest):
    project_name: str | None = Field(default=None, description="only this project's runs")


class RunPlanRequest(_Request):
    run_spec: RunSpec


class StopRunsRequest(_Request):
    runs_names: list[str] = Field(min_length=1, max_length=10_000)
    abort: bool = False


class ScaleRunsRequest(_Request):
    runs_names: list[str] = Field(min_length=1, max_length=10_000)
    replicas: int = Field(ge=0, le=1000)


class DeleteRunsRequest(_Request):
    runs_names: list[str] = Field(min_length=1, max_length=10_000)


class JobSubmissionInfo(BaseModel):
    id: str
    submission_num: int
    status: JobStatus
    status_message: str
    termination_reason: JobTerminationReason | None
    exit_code: int | None
    host: str | None
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
    jobs: list[JobInfo]
    events: list[RunEventInfo]
    workflow_id: str
    temporal_ui_url: str | None
    version: int
    source: Literal["workflow", "projection"] = Field(
        description="workflow: a live query; projection: the database copy")


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any


class RunPlan(BaseModel):
    """What `apply` would do with this configuration, for the CLI and UI to ask the right question."""

    run_name: str | None = Field(description="null: a name will be generated")
    action: Literal["create", "update", "no_change", "replace"] = Field(description=(
        "create: a new run (the name is free, or only finished runs used it); update: the active run "
        "of that name is changed in place (only replicas changed); no_change: the active run already "
        "has this configuration; replace: the active run must be stopped first, then a new run submitted"))
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
    run_name: str | None = None
    run_id: str | None = None
    replica_num: int = Field(default=0, ge=0)
    submission_num: int | None = Field(default=None, ge=0)
    next_token: str | None = None
    limit: int = Field(default=1000, ge=1, le=5000)

    @model_validator(mode="after")
    def _one_key(self) -> PollLogsRequest:
        if (self.run_name is None) == (self.run_id is None):
            raise ValueError("give exactly one of run_name or run_id")
        return self


class LogEvent(BaseModel):
    timestamp: datetime
    log_source: Literal["stdout", "stderr"]
    message: str
    submission_num: int
    offset: int


class JobLogs(BaseModel):
    logs: list[LogEvent]
    next_token: str | None


class Metric(BaseModel):
    name: str
    timestamps: list[datetime]
    values: list[float | int]


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
