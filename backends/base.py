"""The interface every backend implements. Nothing outside `backends/` knows a backend by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from core.gpus import Gpu
from core.jobs import JobSpec, ReplicaExit, StartedReplica


class BackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendFeatures(BaseModel):
    """What a backend can do, derived from its code and configuration (see Compute.features)."""

    survives_worker_restart: bool
    samples_metrics: bool
    charges_for_time: bool


@dataclass(frozen=True)
class HostOffer:
    """The capacity a host advertises to the scheduler."""

    host_id: str
    name: str
    cpu_milli: int
    memory_mb: int
    price_per_hour: float
    gpus: tuple[Gpu, ...] = ()


@dataclass(frozen=True)
class OutputLine:
    offset: int  # byte offset of the line in the job's output; unique per submission
    timestamp: datetime
    stream: str
    message: str


@dataclass(frozen=True)
class MetricsSample:
    """One look at a live job's processes."""

    timestamp: datetime
    cpu_percent: float  # summed over the job's processes: 100 is one core busy all the time
    memory_bytes: int  # resident memory, summed


class JobStartError(Exception):
    """The job can't start and retrying the same start won't help (bad working_dir, ...)."""


Heartbeat = Callable[[], Awaitable[None] | None]
# Called each time a signal has been sent to the job, so its watcher can look at once.
Signalled = Callable[[], None]


class Compute(ABC):
    """Runs job submissions on one host. Every method is idempotent per submission id."""

    backend_type: ClassVar[str]
    config_model: ClassVar[type[BackendConfig]]
    # Whether jobs keep running when the worker process that started them dies.
    detached_jobs: ClassVar[bool]

    @property
    def features(self) -> BackendFeatures:
        """Computed, so that it can't disagree with what the backend implements."""
        return BackendFeatures(
            survives_worker_restart=self.detached_jobs,
            samples_metrics=type(self).sample_metrics is not Compute.sample_metrics,
            charges_for_time=self.offer().price_per_hour > 0,
        )

    @abstractmethod
    def offer(self) -> HostOffer: ...

    @abstractmethod
    async def run_job(self, job: JobSpec, code: Path | None = None) -> StartedReplica:
        """Starts the job detached from this process; returns its pid (and, for a service, the port
        it was given as PORT and the host's address). Starting twice starts once.
        `code`: the run's uploaded code (a tar.gz on this host), unpacked into the job's home first."""

    @abstractmethod
    def read_output(self, submission_id: str, offset: int, max_bytes: int) -> tuple[list[OutputLine], int]:
        """Complete output lines from `offset`, and the offset after the last one returned."""

    @abstractmethod
    def job_exit(self, submission_id: str) -> ReplicaExit | None:
        """None while the job lives; how it ended otherwise."""

    @abstractmethod
    async def terminate_job(self, submission_id: str, *, abort: bool, grace_seconds: float,
                            heartbeat: Heartbeat, signalled: Signalled) -> None:
        """Graceful: SIGTERM, then SIGKILL after `grace_seconds`. Abort: SIGKILL at once.
        Returns once the job is gone."""

    def live_jobs(self) -> list[str]:
        """Submission ids of the jobs alive on this host; backends that can't list them keep this."""
        return []

    def process_ids(self, submission_id: str) -> list[int]:
        """Processes of a live job, for metrics; backends that can't see them keep this."""
        return []

    def sample_metrics(self, submission_id: str) -> MetricsSample | None:
        """CPU and memory of a live job now; None when the job is gone (or the backend can't see it)."""
        return None
