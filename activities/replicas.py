"""Replica activities. They run on the task queue of the host that holds the replica."""

from __future__ import annotations

import asyncio
import time

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import names
from backends.base import Compute, JobStartError
from core.jobs import JobSpec, ReplicaExit, StartedReplica, TerminateRequest, WatchRequest
from store.logs import LogLine, LogStore, SubmissionRef
from store.metrics import MetricsStore

log = structlog.get_logger(__name__)

# Busy replicas are read every 50 ms; quiet ones less and less often, down to once a second,
# so a host with hundreds of idle replicas doesn't spend its CPU looking at files.
WATCH_POLL_MIN_SECONDS = 0.05
WATCH_POLL_MAX_SECONDS = 1.0
LOG_BATCH_BYTES = 512 * 1024
METRICS_INTERVAL_SECONDS = 5.0
# The first sample waits this long: the CPU of a younger process can't be told yet.
METRICS_FIRST_SAMPLE_SECONDS = 1.0


class ReplicaActivities:
    def __init__(self, compute: Compute, logs: LogStore, metrics: MetricsStore) -> None:
        self._compute = compute
        self._logs = logs
        self._metrics = metrics

    @activity.defn(name=names.START_REPLICA)
    async def start_replica(self, job: JobSpec) -> StartedReplica:
        bound = log.bind(run_id=job.run_id, run_name=job.run_name, replica_num=job.replica_num,
                         submission_num=job.submission_num)
        try:
            pid = await self._compute.run_job(job)
        except JobStartError as error:
            raise ApplicationError(str(error), type="JobStartError", non_retryable=True) from None
        bound.info("replica started", pid=pid)
        return StartedReplica(pid=pid)

    @activity.defn(name=names.WATCH_REPLICA)
    async def watch_replica(self, request: WatchRequest) -> ReplicaExit:
        """Ships output lines until the replica exits, and samples its CPU and memory every
        METRICS_INTERVAL_SECONDS while it lives. The heartbeat carries the shipped offset, so a
        retry on another worker process resumes there: no line lost; the store's unique
        (submission, offset) key drops any line shipped twice."""
        info = activity.info()
        offset = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
        ref = SubmissionRef(request.submission_id, request.run_id, request.replica_num, request.submission_num)
        bound = log.bind(run_id=request.run_id, replica_num=request.replica_num,
                         submission_num=request.submission_num)
        bound.info("watching replica", offset=offset, attempt=info.attempt)
        pause = WATCH_POLL_MIN_SECONDS
        next_sample_at = time.monotonic() + METRICS_FIRST_SAMPLE_SECONDS
        while True:
            exited = self._compute.job_exit(request.submission_id)
            if exited is None and time.monotonic() >= next_sample_at:
                await self._record_metrics(ref)
                next_sample_at = time.monotonic() + METRICS_INTERVAL_SECONDS
            output, next_offset = self._compute.read_output(request.submission_id, offset, LOG_BATCH_BYTES)
            if output:
                await self._logs.append(ref, [LogLine(line.offset, line.timestamp, line.stream, line.message)
                                              for line in output])
                offset = next_offset
            activity.heartbeat(offset)
            if exited is not None and not output:
                bound.info("replica exited", exit_code=exited.exit_code, offset=offset)
                return exited
            if output:
                pause = WATCH_POLL_MIN_SECONDS
            else:
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, WATCH_POLL_MAX_SECONDS)

    async def _record_metrics(self, ref: SubmissionRef) -> None:
        sample = self._compute.sample_metrics(ref.submission_id)
        if sample is None:
            return
        try:
            await self._metrics.append(ref, [sample])
        except Exception as error:  # a lost sample is not worth failing the watch (and its log shipping) for
            log.warning("metrics sample not stored", run_id=ref.run_id, replica_num=ref.replica_num,
                        error=str(error))

    @activity.defn(name=names.TERMINATE_REPLICA)
    async def terminate_replica(self, request: TerminateRequest) -> None:
        await self._compute.terminate_job(request.submission_id, abort=request.abort,
                                          grace_seconds=request.grace_seconds,
                                          heartbeat=lambda: activity.heartbeat())
