"""Metrics of runs: one replica's series, and the latest sample of each replica running now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from api.auth import ProjectAccess
from api.errors import NotFound
from api.schemas import JobMetrics, JobSubmissionInfo, Metric, ReplicaStats, Run, RunStats
from api.services.lookup import find_run
from api.services.runs import RunService
from backends.base import MetricsSample
from core.statuses import JobStatus
from store.metrics import MetricsStore
from store.runs import RunStore

# dstack's metric names, so that its users (and charts) find what they expect.
CPU_METRIC = "cpu_usage_percent"
MEMORY_METRIC = "memory_working_set_bytes"


class MetricsService:
    def __init__(self, metrics: MetricsStore, runs: RunStore, run_service: RunService) -> None:
        self._metrics = metrics
        self._runs = runs
        self._run_service = run_service

    async def job_metrics(self, access: ProjectAccess, run_name: str, replica_num: int, *, limit: int,
                          after: datetime | None = None, run_id: str | None = None) -> JobMetrics:
        """By name, the latest run of that name that is not deleted; by id, any run of the name (the
        UI's run page shows runs by id, which may be deleted or replaced by a newer run)."""
        if run_id is None:
            row = await find_run(self._runs, access, run_name=run_name)
        else:
            row = await find_run(self._runs, access, run_id=run_id)
            if row.run_name != run_name:
                raise NotFound(f"run {run_id} is not a run named {run_name}")
        return job_metrics(await self._metrics.series(row.id, replica_num, limit=limit, after=after))

    async def run_stats(self, access: ProjectAccess, run_name: str) -> RunStats:
        """The live state (the workflow's query) says which replicas run now; the store has
        their latest samples."""
        run = await self._run_service.get(access, run_name=run_name)
        current = current_submissions(run)
        latest = await self._metrics.latest_per_submission(
            run.id, {submission.id: replica_num for replica_num, submission in current})
        return RunStats(run_name=run.run_name, status=run.status, replicas=[
            replica_stats(replica_num, submission, latest.get(submission.id)) for replica_num, submission in current])


def job_metrics(samples: Sequence[MetricsSample]) -> JobMetrics:
    timestamps = [sample.timestamp for sample in samples]
    return JobMetrics(metrics=[
        Metric(name=CPU_METRIC, timestamps=timestamps, values=[round(sample.cpu_percent, 1) for sample in samples]),
        Metric(name=MEMORY_METRIC, timestamps=timestamps, values=[sample.memory_bytes for sample in samples]),
    ])


def current_submissions(run: Run) -> list[tuple[int, JobSubmissionInfo]]:
    """(replica_num, submission) of each replica whose current submission is running; none
    once the run has finished."""
    if run.status.is_finished:
        return []
    return [(job.replica_num, job.job_submissions[-1]) for job in run.jobs
            if job.job_submissions and job.job_submissions[-1].status == JobStatus.RUNNING]


def replica_stats(replica_num: int, submission: JobSubmissionInfo, sample: MetricsSample | None) -> ReplicaStats:
    return ReplicaStats(replica_num=replica_num, submission_num=submission.submission_num, status=submission.status,
                        cpu_percent=None if sample is None else round(sample.cpu_percent, 1),
                        memory_bytes=None if sample is None else sample.memory_bytes,
                        timestamp=None if sample is None else sample.timestamp)
