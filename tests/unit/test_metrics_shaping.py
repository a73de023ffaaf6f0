"""Shaping of metrics for the API: dstack's series, and which replicas are current."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.schemas import JobInfo, JobSubmissionInfo, Run
from api.services.metrics import current_submissions, job_metrics, replica_stats
from backends.base import MetricsSample
from core.statuses import JobStatus, RunStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def sample(seconds: int, cpu: float, memory: int) -> MetricsSample:
    return MetricsSample(timestamp=NOW + timedelta(seconds=seconds), cpu_percent=cpu, memory_bytes=memory)


def test_series_in_dstack_shape() -> None:
    shaped = job_metrics([sample(0, 12.345, 1000), sample(5, 99.96, 2000)]).model_dump(mode="json")
    timestamps = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z"]
    assert shaped == {"metrics": [
        {"name": "cpu_usage_percent", "timestamps": timestamps, "values": [12.3, 100.0]},
        {"name": "memory_working_set_bytes", "timestamps": timestamps, "values": [1000, 2000]},
    ]}
    assert job_metrics([]).model_dump()["metrics"] == [
        {"name": "cpu_usage_percent", "timestamps": [], "values": []},
        {"name": "memory_working_set_bytes", "timestamps": [], "values": []}]


def submission(num: int, status: JobStatus) -> JobSubmissionInfo:
    return JobSubmissionInfo(id=f"s{num}-{status}", submission_num=num, status=status, status_message="",
                             termination_reason=None, exit_code=None, host=None, submitted_at=NOW, started_at=None,
                             finished_at=None, price_per_hour=0.0, cost=0.0)


def run(status: RunStatus, jobs: dict[int, list[JobSubmissionInfo]]) -> Run:
    fields: dict[str, Any] = {
        "id": "r", "project_name": "main", "user": "admin", "run_name": "svc", "status_message": "",
        "termination_reason": None, "submitted_at": NOW, "finished_at": None, "desired_replicas": len(jobs),
        "running_replicas": 0, "cost": 0.0, "cost_per_hour": 0.0, "deleted": False, "configuration": {},
        "events": [], "workflow_id": "w", "temporal_ui_url": None, "can_manage": True, "version": 1,
        "source": "workflow"}
    return Run(status=status, jobs=[JobInfo(replica_num=num, job_submissions=subs) for num, subs in jobs.items()],
               **fields)


def test_current_replicas_are_those_whose_latest_submission_runs() -> None:
    retried = submission(1, JobStatus.RUNNING)
    live = run(RunStatus.RUNNING, {
        0: [submission(0, JobStatus.FAILED), retried],  # a retry that runs
        1: [submission(0, JobStatus.RUNNING), submission(1, JobStatus.SUBMITTED)],  # its latest waits
        2: [submission(0, JobStatus.TERMINATING)],  # being scaled down
        3: [submission(0, JobStatus.TERMINATED)],
        4: [],
    })
    assert current_submissions(live) == [(0, retried)]
    # A finished run has none, whatever its last submissions say.
    assert current_submissions(run(RunStatus.TERMINATED, {0: [submission(0, JobStatus.RUNNING)]})) == []


def test_replica_stats_without_a_sample_yet() -> None:
    running = submission(2, JobStatus.RUNNING)
    assert replica_stats(3, running, None).model_dump() == {
        "replica_num": 3, "submission_num": 2, "status": JobStatus.RUNNING, "cpu_percent": None,
        "memory_bytes": None, "timestamp": None}
    sampled = replica_stats(3, running, sample(5, 50.04, 123))
    assert (sampled.cpu_percent, sampled.memory_bytes, sampled.timestamp) == (50.0, 123, NOW + timedelta(seconds=5))
