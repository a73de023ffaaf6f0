"""Replica activities. They run on the task queue of the host that holds the replica."""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import names
from activities.host_metrics import HostMetricsSampler
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


class ReplicaActivities:
    def __init__(self, compute: Compute, logs: LogStore, metrics: MetricsStore) -> None:
        self._compute = compute
        self._logs = logs
        self._sampler = HostMetricsSampler(compute, metrics)
        # Watchers by submission id. Terminate and watch of one replica run on the same host
        # worker, so a termination wakes its watcher at once instead of at its next poll (up to
        # WATCH_POLL_MAX_SECONDS later on a quiet replica).
        self._wakeups: dict[str, asyncio.Event] = {}

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
        """Ships output lines until the replica exits, and has the host's sampler record its CPU
        and memory while it lives. The heartbeat carries the shipped offset, so a
        retry on another worker process resumes there: no line lost; the store's unique
        (submission, offset) key drops any line shipped twice."""
        info = activity.info()
        offset = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
        ref = SubmissionRef(request.submission_id, request.run_id, request.replica_num, request.submission_num)
        bound = log.bind(run_id=request.run_id, replica_num=request.replica_num,
                         submission_num=request.submission_num)
        bound.info("watching replica", offset=offset, attempt=info.attempt)
        wakeup = self._wakeups.setdefault(request.submission_id, asyncio.Event())
        try:
            with self._sampler.sampling(ref):
                return await self._watch(request, ref, offset, bound, wakeup)
        finally:
            self._wakeups.pop(request.submission_id, None)

    async def _watch(self, request: WatchRequest, ref: SubmissionRef, offset: int,
                     bound: structlog.typing.FilteringBoundLogger, wakeup: asyncio.Event) -> ReplicaExit:
        pause = WATCH_POLL_MIN_SECONDS
        while True:
            exited = self._compute.job_exit(request.submission_id)
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
            elif await _woken(wakeup, pause):
                pause = WATCH_POLL_MIN_SECONDS  # being terminated: its exit is near
            else:
                pause = min(pause * 1.5, WATCH_POLL_MAX_SECONDS)

    @activity.defn(name=names.TERMINATE_REPLICA)
    async def terminate_replica(self, request: TerminateRequest) -> None:
        def signalled() -> None:
            wakeup = self._wakeups.get(request.submission_id)
            if wakeup is not None:
                wakeup.set()

        await self._compute.terminate_job(request.submission_id, abort=request.abort,
                                          grace_seconds=request.grace_seconds,
                                          heartbeat=lambda: activity.heartbeat(), signalled=signalled)
        signalled()  # the process is gone (or was never there)


async def _woken(wakeup: asyncio.Event, timeout: float) -> bool:
    """Sleeps up to `timeout`; True when woken early (and clears the wake-up)."""
    try:
        await asyncio.wait_for(wakeup.wait(), timeout)
    except TimeoutError:
        return False
    wakeup.clear()
    return True
