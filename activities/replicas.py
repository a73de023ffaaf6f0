"""Replica activities. They run on the task queue of the host that holds the replica."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import names
from activities.code_archives import CodeArchives
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
# A quiet watcher heartbeats this often (a new offset is sent at once). Temporal needs one per
# heartbeat timeout; a heartbeat on every poll cost more CPU than the poll itself.
MAX_HEARTBEAT_SECONDS = 10.0
# A termination waits this long at most for the replica's watcher to report the exit.
WATCHER_REPORT_SECONDS = 2.0



class ReplicaActivities:
    def __init__(self, compute: Compute, logs: LogStore, metrics: MetricsStore, code: CodeArchives) -> None:
        self._compute = compute
        self._logs = logs
        self._code = code
        self._sampler = HostMetricsSampler(compute, metrics)
        # Watchers by submission id. Terminate and watch of one replica run on the same host
        # worker, so a termination wakes its watcher at once instead of at its next poll (up to
        # WATCH_POLL_MAX_SECONDS later on a quiet replica).
        self._watchers: dict[str, _Watcher] = {}
        self._handing_over = False

    def hand_over_watchers(self) -> None:
        """The worker is shutting down: every watch ends now with a retryable failure, which
        Temporal retries on the host's next worker from the last heartbeat's offset."""
        self._handing_over = True
        for watcher in self._watchers.values():
            watcher.wakeup.set()

    @activity.defn(name=names.START_REPLICA)
    async def start_replica(self, job: JobSpec) -> StartedReplica:
        bound = log.bind(run_id=job.run_id, run_name=job.run_name, replica_num=job.replica_num,
                         submission_num=job.submission_num)
        try:
            code = await self._code.archive(job.project, job.code_hash) if job.code_hash else None
            started = await self._compute.run_job(job, code)
        except JobStartError as error:
            raise ApplicationError(str(error), type="JobStartError", non_retryable=True) from None
        bound.info("replica started", pid=started.pid, port=started.port)
        return started

    @activity.defn(name=names.WATCH_REPLICA)
    async def watch_replica(self, request: WatchRequest) -> ReplicaExit:
        """Ships output lines until the replica exits, and has the host's sampler record its CPU
        and memory while it lives. The heartbeat carries the shipped offset, so a
        retry on another worker process resumes there: no line lost; the store's unique
        (submission, offset) key drops any line shipped twice."""
        info = activity.info()
        # A retry resumes from its last heartbeat; a new watcher (the run continued as new) from
        # what the store has.
        if info.heartbeat_details:
            offset = int(info.heartbeat_details[0])
        else:
            offset = await self._logs.last_offset(request.submission_id)
        ref = SubmissionRef(request.submission_id, request.run_id, request.replica_num, request.submission_num)
        bound = log.bind(run_id=request.run_id, replica_num=request.replica_num,
                         submission_num=request.submission_num)
        bound.info("watching replica", offset=offset, attempt=info.attempt)
        # The newest watcher of a submission is the one a termination wakes: the previous execution's
        # may still be running for a moment after the run continued as new.
        watcher = self._watchers[request.submission_id] = _Watcher()
        try:
            with self._sampler.sampling(ref):
                return await self._watch(request, ref, offset, bound, watcher.wakeup)
        finally:
            watcher.finished.set()
            if self._watchers.get(request.submission_id) is watcher:
                del self._watchers[request.submission_id]

    async def _watch(self, request: WatchRequest, ref: SubmissionRef, offset: int,
                     bound: structlog.typing.FilteringBoundLogger, wakeup: Wakeup) -> ReplicaExit:
        pause = WATCH_POLL_MIN_SECONDS
        heartbeat = _Heartbeats(activity.info().heartbeat_timeout)
        while True:
            exited = self._compute.job_exit(request.submission_id)
            output, next_offset = self._compute.read_output(request.submission_id, offset, LOG_BATCH_BYTES)
            if output:
                await self._logs.append(ref, [LogLine(line.offset, line.timestamp, line.stream, line.message)
                                              for line in output])
                offset = next_offset
            heartbeat.send(offset)
            if exited is not None and not output:
                bound.info("replica exited", exit_code=exited.exit_code, offset=offset)
                return exited
            if self._handing_over:
                raise ApplicationError("the host's worker is shutting down; its next worker goes on watching",
                                       type="WorkerShutdown")
            if output:
                pause = WATCH_POLL_MIN_SECONDS
            elif await wakeup.sleep(pause):
                pause = WATCH_POLL_MIN_SECONDS  # being terminated: its exit is near
            else:
                pause = min(pause * 1.5, WATCH_POLL_MAX_SECONDS)

    @activity.defn(name=names.TERMINATE_REPLICA)
    async def terminate_replica(self, request: TerminateRequest) -> None:
        """Returns once the job is gone and, when its watcher runs here, once the watcher has
        reported the exit: the two completions then reach the workflow together, in one
        workflow task instead of two."""
        watcher = self._watchers.get(request.submission_id)

        def signalled() -> None:
            if watcher is not None:
                watcher.wakeup.set()

        await self._compute.terminate_job(request.submission_id, abort=request.abort,
                                          grace_seconds=request.grace_seconds,
                                          heartbeat=lambda: activity.heartbeat(), signalled=signalled)
        signalled()  # the process is gone (or was never there)
        if watcher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watcher.finished.wait(), WATCHER_REPORT_SECONDS)


class Wakeup:
    """A sleep that a termination cuts short. One timer and one future per sleep: a watcher
    sleeps about once a second, and `wait_for` on an Event costs a task each time."""

    def __init__(self) -> None:
        self._sleeping: asyncio.Future[bool] | None = None
        self._pending = False

    def set(self) -> None:
        if self._sleeping is not None and not self._sleeping.done():
            self._sleeping.set_result(True)
        else:
            self._pending = True

    async def sleep(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; True when woken early, or already woken since the last sleep."""
        if self._pending:
            self._pending = False
            return True
        loop = asyncio.get_running_loop()
        self._sleeping = loop.create_future()
        timer = loop.call_later(seconds, _resolve, self._sleeping)
        try:
            return await self._sleeping
        finally:
            timer.cancel()
            self._sleeping = None


def _resolve(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(False)


@dataclass
class _Watcher:
    """A watch in progress: how to wake it, and when it has returned."""

    wakeup: Wakeup = field(default_factory=Wakeup)
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class _Heartbeats:
    """Heartbeats a new offset at once, and an unchanged one every MAX_HEARTBEAT_SECONDS (or a
    quarter of the heartbeat timeout, when that is shorter)."""

    def __init__(self, timeout: timedelta | None) -> None:
        self._every = min(MAX_HEARTBEAT_SECONDS, timeout.total_seconds() / 4) if timeout else MAX_HEARTBEAT_SECONDS
        self._offset: int | None = None
        self._sent_at = 0.0

    def send(self, offset: int) -> None:
        now = time.monotonic()
        if offset != self._offset or now - self._sent_at >= self._every:
            activity.heartbeat(offset)
            self._offset, self._sent_at = offset, now
