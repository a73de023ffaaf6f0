"""Payloads exchanged between the RunWorkflow and its activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from core.configuration import Resources
from core.gpus import GpuSpec
from core.run_state import JobSubmission, RunState
from core.service_configuration import ProbeConfig


class JobSpec(BaseModel):
    """What a backend needs to start one job submission."""

    submission_id: str
    run_id: str
    run_name: str
    project: str
    replica_num: int
    submission_num: int
    commands: list[str]
    env: dict[str, str]
    working_dir: str | None
    resources: Resources
    code_hash: str | None = None  # uploaded code to unpack into the job's home before it starts
    gpu_indices: list[int] = []  # the host's GPUs it was given (CUDA_VISIBLE_DEVICES)
    port: int | None = None  # a service's port: given as PORT when free on the host, else another one


class ProvisionRequest(BaseModel):
    submission_id: str
    run_id: str
    project: str = ""
    fleets: list[str] = []  # empty: every fleet the project may use
    cpu_milli: int
    memory_mb: int
    gpu: GpuSpec | None = None


class Instance(BaseModel):
    """A slice of a host allocated to one job submission."""

    id: str
    submission_id: str
    host_id: str
    host_name: str
    task_queue: str
    price_per_hour: float
    gpu_indices: list[int] = []  # the host's GPUs this slice holds, lowest first


class ProvisionResult(BaseModel):
    instance: Instance | None = None
    # Why nothing was allocated, and whether waiting could ever help.
    reason: str = ""
    can_ever_fit: bool = True
    released: bool = False  # the submission was released first: it never gets an instance


class StartedReplica(BaseModel):
    pid: int
    port: int | None = None  # the port it was given (PORT), for a service
    address: str | None = None  # where its host is reached from the API (DURASTACK_HOST_ADDRESS)


class ReplicaExit(BaseModel):
    exit_code: int | None  # None: the runner died without reporting (killed); the job was stopped
    message: str = ""
    exited_at: datetime | None = None  # when the job's main process exited, as its runner recorded


class WatchRequest(BaseModel):
    submission_id: str
    run_id: str
    replica_num: int
    submission_num: int


class ProbeRequest(BaseModel):
    """Watch a service replica's readiness: its probes (or, without any, its port accepting
    connections), telling the run's workflow each time the replica becomes ready or stops being."""

    workflow_id: str
    submission_id: str
    run_id: str
    replica_num: int
    address: str
    port: int
    probes: list[ProbeConfig] = []
    ready: bool = False  # what the workflow believes now: only a change is sent


class TerminateRequest(BaseModel):
    submission_id: str
    abort: bool
    grace_seconds: float


class ReleaseRequest(BaseModel):
    submission_id: str
    run_id: str = ""  # empty from workflows started before releases carried it


class ProjectionUpdate(BaseModel):
    """What a projection write stores: the run's state, and the submissions that leave it when
    the run continues as new (stored a row each, so that the run still shows them)."""

    state: RunState
    compacted: list[JobSubmission] = []
