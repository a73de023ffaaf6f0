"""The lifecycle of one run, top to bottom.

A RunWorkflow is the only writer of its run's state. Each replica is driven by its own
coroutine: allocate an instance (waiting for capacity when none is free), start the
process on the instance's host queue, watch it until it exits, release the instance, and
retry as the run's retry policy allows. Stop and abort requests, the `max_duration` timer
and a failed replica all end in the same place: every live replica is terminated, then
the run finishes with one termination reason. Every change bumps `state.version`; a
background coroutine writes the projection the API lists from, and the final projection
is written before the workflow returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import names
    from core import search_attributes
    from core.configuration import ServiceConfiguration, initial_replicas
    from core.jobs import (
        Instance,
        JobSpec,
        ProvisionRequest,
        ProvisionResult,
        ReleaseRequest,
        ReplicaExit,
        StartedReplica,
        TerminateRequest,
        WatchRequest,
    )
    from core.run_state import JobSubmission, RunState, StopRequest, derive_run_status
    from core.scaling import check_replica_count, replicas_to_add, replicas_to_remove
    from core.statuses import JobStatus, JobTerminationReason, RunTerminationReason
    from workflows.messages import (
        RELEASE_WITH_FINAL_PROJECTION,
        RUN_WORKFLOW,
        SCALE_SIGNAL,
        SCALE_UPDATE,
        STATE_QUERY,
        STOP_SIGNAL,
        STOP_WITHOUT_WAITING_FOR_CANCEL,
        RunWorkflowInput,
        ScaleCommand,
        ScaleResult,
        StopCommand,
    )

QUICK_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5))
# How long a dead worker's watcher goes unnoticed before another worker resumes it (the replica
# keeps running meanwhile, and no log line is lost). Heartbeats are sent every 0.8 x
# this, and each costs the Temporal dev server about 6 ms of CPU: with 20 s, 300 idle replicas
# kept 12% of a core busy, and 1,000 half a core.
WATCH_HEARTBEAT_TIMEOUT = timedelta(seconds=60)
WAIT_HEARTBEAT_TIMEOUT = timedelta(seconds=20)
# Activities that only end with their process need some start-to-close bound; a year is "never".
UNBOUNDED = timedelta(days=365)
MAX_RETRY_DELAY_SECONDS = 30
# A start takes well under a second, and the runner must be up within 10 s (backends/local). The
# bound is what a start task lost between the server and the worker costs before its retry: it
# happened once in ~1,300 starts of the benchmarks (Started, never run on the worker).
START_TIMEOUT = timedelta(seconds=15)


@workflow.defn(name=RUN_WORKFLOW)
class RunWorkflow:
    @workflow.init
    def __init__(self, input: RunWorkflowInput) -> None:
        self.state = input.state
        self._workflow_version = input.workflow_version
        self._replica_tasks: dict[int, asyncio.Task[None]] = {}
        self._failure: RunTerminationReason | None = None
        self._finishing = False
        self._written_version = -1
        self._written_key: tuple[object, ...] | None = None
        self._published_status = self.state.status

    # -- messages -------------------------------------------------------------------------------

    @workflow.query(name=STATE_QUERY)
    def get_state(self) -> RunState:
        return self.state

    @workflow.signal(name=STOP_SIGNAL)
    def stop(self, command: StopCommand) -> None:
        """Graceful stop, or abort; an abort may follow a graceful stop and escalates it."""
        if self._finishing or self.state.status.is_finished:
            return
        current = self.state.stop
        if current is not None and (current.abort or not command.abort):
            return
        reason = RunTerminationReason.ABORTED_BY_USER if command.abort else RunTerminationReason.STOPPED_BY_USER
        if current is not None and current.reason == RunTerminationReason.MAX_DURATION_EXCEEDED:
            reason = current.reason
        self.state.stop = StopRequest(abort=command.abort, reason=reason)
        self.state.record(workflow.now(), "abort requested" if command.abort else "stop requested")
        self._refresh_status()

    @workflow.signal(name=SCALE_SIGNAL)
    def scale_signal(self, command: ScaleCommand) -> None:
        """Fire-and-forget scale for batches; the API checked the range before sending."""
        if self._scale_refusal(command) is None:
            self._scale(command)

    @workflow.update(name=SCALE_UPDATE)
    def scale_update(self, command: ScaleCommand) -> ScaleResult:
        return self._scale(command)

    @scale_update.validator
    def _validate_scale(self, command: ScaleCommand) -> None:
        refusal = self._scale_refusal(command)
        if refusal is not None:
            raise ApplicationError(refusal, type="ScaleRefused", non_retryable=True)

    def _scale_refusal(self, command: ScaleCommand) -> str | None:
        if self._finishing or self.state.status.is_finished:
            return f"run {self.state.run_name} has finished"
        if self._stopping():
            return f"run {self.state.run_name} is stopping"
        if not isinstance(self.state.configuration, ServiceConfiguration):
            return f"run {self.state.run_name} is a task; only services scale"
        return check_replica_count(command.replicas, command.replica_range or self.state.configuration.replicas)

    def _scale(self, command: ScaleCommand) -> ScaleResult:
        configuration = self.state.configuration
        if command.replica_range is not None and isinstance(configuration, ServiceConfiguration):
            self.state.configuration = configuration.model_copy(update={"replicas": command.replica_range})
        live = [num for num, task in self._replica_tasks.items()
                if not task.done() and self.state.replica(num).stop_reason is None]
        now = workflow.now()
        removed = replicas_to_remove(self.state, live, len(live) - command.replicas)
        for replica_num in removed:
            self.state.replica(replica_num).stop_reason = JobTerminationReason.SCALED_DOWN
            self.state.record(now, f"replica {replica_num} scaling down")
        busy = [num for num, task in self._replica_tasks.items() if not task.done()]
        added = replicas_to_add(self.state, busy, command.replicas - len(live))
        for replica_num in added:
            self._start_replica(replica_num)
        if command.replicas != self.state.desired_replicas:
            self.state.desired_replicas = command.replicas
            self.state.record(now, f"scaled to {command.replicas} replicas")
        self._refresh_status()
        return ScaleResult(desired_replicas=command.replicas, added=added, removed=removed)

    # -- the run --------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: RunWorkflowInput) -> RunState:
        projection = asyncio.create_task(self._write_projections())
        for replica_num in range(initial_replicas(self.state.configuration)):
            self._start_replica(replica_num)
        self._refresh_status()

        max_duration = self.state.configuration.max_duration_seconds
        try:
            await workflow.wait_condition(self._replicas_finished,
                                          timeout=timedelta(seconds=max_duration) if max_duration else None,
                                          timeout_summary="max_duration")
        except TimeoutError:
            if self.state.stop is None:
                self.state.stop = StopRequest(abort=False, reason=RunTerminationReason.MAX_DURATION_EXCEEDED)
                self.state.record(workflow.now(), "max_duration exceeded")
                self._refresh_status()
            await workflow.wait_condition(self._replicas_finished)
        self._finishing = True
        for task in self._replica_tasks.values():
            await task  # surfaces unexpected errors instead of dropping them

        if self.state.stop is not None:
            reason = self.state.stop.reason
        else:
            reason = self._failure or RunTerminationReason.ALL_JOBS_DONE
        self.state.finish_run(reason, workflow.now())
        self._publish_status()
        await workflow.wait_condition(lambda: self._written_version >= self.state.version)
        projection.cancel()
        return self.state

    def _replicas_finished(self) -> bool:
        """Every replica has ended, and none is coming: a service scaled to zero waits."""
        if not all(task.done() for task in self._replica_tasks.values()):
            return False
        return self._stopping() or self.state.desired_replicas > 0

    # -- one replica ----------------------------------------------------------------------------

    def _start_replica(self, replica_num: int) -> None:
        submission = self.state.add_submission(str(workflow.uuid4()), replica_num, workflow.now())
        self.state.replica(replica_num).stop_reason = None
        self._replica_tasks[replica_num] = asyncio.create_task(self._drive_replica(submission))

    async def _drive_replica(self, submission: JobSubmission) -> None:
        replica_num = submission.replica_num
        first_submitted_at = submission.submitted_at
        retries = 0
        while True:
            await self._run_submission(submission)
            reason = submission.termination_reason
            if submission.status != JobStatus.FAILED or self._replica_stopping(replica_num):
                return
            event = "interruption" if reason == JobTerminationReason.INSTANCE_UNREACHABLE else "error"
            retry = self.state.configuration.retry
            elapsed = (workflow.now() - first_submitted_at).total_seconds()
            if retry is None or event not in retry.on_events or elapsed >= retry.duration_seconds \
                    or reason == JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY:
                self._fail_run(RunTerminationReason.RETRY_LIMIT_EXCEEDED if retry and event in retry.on_events
                               else RunTerminationReason.JOB_FAILED)
                return
            retries += 1
            delay = min(2 ** (retries - 1), MAX_RETRY_DELAY_SECONDS, max(0.0, retry.duration_seconds - elapsed))
            submission = self.state.add_submission(str(workflow.uuid4()), replica_num, workflow.now())
            self.state.set_job_status(submission, JobStatus.SUBMITTED, workflow.now(),
                                      f"retrying in {delay:g}s after {reason.value if reason else 'failure'}")
            self._refresh_status()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._replica_stopping(replica_num),
                                              timeout=timedelta(seconds=delay), timeout_summary="retry delay")

    async def _run_submission(self, submission: JobSubmission) -> None:
        instance = await self._provision(submission)
        if instance is None:
            return
        try:
            if self._replica_stopping(submission.replica_num):
                self._finish(submission, self._stop_job_reason(submission.replica_num))
                return
            try:
                started = await workflow.execute_activity(
                    names.START_REPLICA, self._job_spec(submission), result_type=StartedReplica,
                    task_queue=instance.task_queue, start_to_close_timeout=START_TIMEOUT,
                    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=10),
                    summary=self._summary("start", submission))
            except ActivityError as error:
                self._finish(submission, JobTerminationReason.EXECUTOR_ERROR, message=_cause(error))
                return
            submission.pid = started.pid
            self.state.set_job_status(submission, JobStatus.RUNNING, workflow.now())
            self._refresh_status()
            exited, terminated = await self._watch_until_exit(submission, instance)
            # Ended when the runner saw the main process exit, not when this workflow heard of it.
            ended_at = min(max(exited.exited_at or workflow.now(), submission.started_at or workflow.now()),
                           workflow.now())
            if terminated:
                reason = self._stop_job_reason(submission.replica_num)
            elif exited.exit_code == 0:
                reason = JobTerminationReason.DONE_BY_RUNNER
            elif exited.exit_code is None:
                reason = JobTerminationReason.INSTANCE_UNREACHABLE
            else:
                reason = JobTerminationReason.CONTAINER_EXITED_WITH_ERROR
            self._finish(submission, reason, exit_code=exited.exit_code, message=exited.message, at=ended_at)
        finally:
            # One local activity fewer per stopped run: the final projection write releases it.
            if not (self._workflow_version >= RELEASE_WITH_FINAL_PROJECTION
                    and self._ends_stopping_run(submission.replica_num)):
                await self._release(submission)

    async def _release(self, submission: JobSubmission) -> None:
        await self._database_activity(
            names.RELEASE_INSTANCE, ReleaseRequest(submission_id=submission.id, run_id=self.state.run_id),
            summary=self._summary("release instance of", submission))

    async def _provision(self, submission: JobSubmission) -> Instance | None:
        """An instance for the submission, or None when it finished without one."""
        stopping = partial(self._replica_stopping, submission.replica_num)
        if stopping():
            self._finish(submission, self._stop_job_reason(submission.replica_num))
            return None
        request = ProvisionRequest(submission_id=submission.id, run_id=self.state.run_id,
                                   cpu_milli=self.state.configuration.resources.cpu_milli,
                                   memory_mb=self.state.configuration.resources.memory_mb)
        result = await self._database_activity(names.PROVISION_INSTANCE, request, result_type=ProvisionResult,
                                               summary=self._summary("provision", submission))
        if result.instance is None and result.can_ever_fit:
            self.state.set_job_status(submission, JobStatus.SUBMITTED, workflow.now(), result.reason)
            self._refresh_status()
            result = await self._wait_for_instance(submission, request, stopping)
        if result.instance is None:
            if result.can_ever_fit:
                # Stopped while waiting: the release gives back an allocation that raced the
                # cancel, and refuses any later one.
                await self._release(submission)
                self._finish(submission, self._stop_job_reason(submission.replica_num))
            else:
                self._finish(submission, JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY,
                             message=result.reason)
            return None
        instance = result.instance
        submission.instance_id = instance.id
        submission.host_id = instance.host_id
        submission.host_name = instance.host_name
        submission.price_per_hour = instance.price_per_hour
        self.state.set_job_status(submission, JobStatus.PROVISIONING, workflow.now())
        self._refresh_status()
        return instance

    async def _wait_for_instance(self, submission: JobSubmission, request: ProvisionRequest,
                                 stopping: Callable[[], bool]) -> ProvisionResult:
        waiting = asyncio.create_task(workflow.execute_activity(
            names.WAIT_FOR_INSTANCE, request, result_type=ProvisionResult,
            start_to_close_timeout=UNBOUNDED, heartbeat_timeout=WAIT_HEARTBEAT_TIMEOUT,
            retry_policy=QUICK_RETRY,
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=self._summary("wait for capacity for", submission)))
        await workflow.wait_condition(lambda: waiting.done() or stopping())
        if not waiting.done():
            waiting.cancel()
            if self._workflow_version >= STOP_WITHOUT_WAITING_FOR_CANCEL:
                # An overloaded worker can miss a cancel for minutes; the release that follows
                # fences the submission instead, so the run stops now.
                waiting.add_done_callback(_consume_outcome)
                return ProvisionResult(reason="stopped while waiting for capacity")
        try:
            return await waiting
        except (ActivityError, asyncio.CancelledError):
            return ProvisionResult(reason="stopped while waiting for capacity")

    async def _watch_until_exit(self, submission: JobSubmission, instance: Instance) -> tuple[ReplicaExit, bool]:
        """Waits for the process to exit, terminating it when the run stops. The watcher keeps
        shipping logs during termination, so the last lines are never lost."""
        watch = asyncio.create_task(workflow.execute_activity(
            names.WATCH_REPLICA, WatchRequest(submission_id=submission.id, run_id=self.state.run_id,
                                              replica_num=submission.replica_num,
                                              submission_num=submission.submission_num),
            result_type=ReplicaExit, task_queue=instance.task_queue, start_to_close_timeout=UNBOUNDED,
            heartbeat_timeout=WATCH_HEARTBEAT_TIMEOUT, retry_policy=QUICK_RETRY,
            summary=self._summary("watch", submission)))
        sent_abort: bool | None = None  # None: no termination sent yet
        terminations: list[asyncio.Task[None]] = []
        stopping = partial(self._replica_stopping, submission.replica_num)
        while True:
            await workflow.wait_condition(
                lambda sent=sent_abort: watch.done() or (stopping() and sent is None)  # type: ignore[misc]
                or (self._abort_requested() and sent is False))
            if watch.done():
                break
            sent_abort = self._abort_requested()
            self.state.set_job_status(submission, JobStatus.TERMINATING, workflow.now())
            self._refresh_status()
            grace = 0.0 if sent_abort else self.state.configuration.stop_duration_seconds
            terminations.append(asyncio.create_task(workflow.execute_activity(
                names.TERMINATE_REPLICA,
                TerminateRequest(submission_id=submission.id, abort=sent_abort, grace_seconds=grace),
                task_queue=instance.task_queue, start_to_close_timeout=timedelta(seconds=grace + 60),
                heartbeat_timeout=timedelta(seconds=10), retry_policy=QUICK_RETRY,
                summary=self._summary("abort" if sent_abort else "stop", submission))))
        exited = await watch
        for termination in terminations:  # the process is gone: nothing left to terminate
            termination.cancel()
            with contextlib.suppress(ActivityError, asyncio.CancelledError):
                await termination
        return exited, sent_abort is not None

    # -- helpers --------------------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self.state.stop is not None or self._failure is not None

    def _replica_stopping(self, replica_num: int) -> bool:
        return self._stopping() or self.state.replica(replica_num).stop_reason is not None

    def _ends_stopping_run(self, replica_num: int) -> bool:
        """The run is stopping and this replica is the last live one: the run finishes next."""
        return self._stopping() and all(task.done() for num, task in self._replica_tasks.items() if num != replica_num)

    def _abort_requested(self) -> bool:
        return self.state.stop is not None and self.state.stop.abort

    def _stop_job_reason(self, replica_num: int) -> JobTerminationReason:
        stop = self.state.stop
        own = self.state.replica(replica_num).stop_reason
        if own is not None and not self._abort_requested():
            return own
        if stop is None:
            return JobTerminationReason.TERMINATED_BY_SERVER
        if stop.reason == RunTerminationReason.MAX_DURATION_EXCEEDED:
            return JobTerminationReason.MAX_DURATION_EXCEEDED
        return JobTerminationReason.ABORTED_BY_USER if stop.abort else JobTerminationReason.TERMINATED_BY_USER

    def _fail_run(self, reason: RunTerminationReason) -> None:
        """A replica failed for good: the run fails, and the other replicas are terminated."""
        if self._failure is None and self.state.stop is None:
            self._failure = reason
            self.state.record(workflow.now(), f"run failing: {reason.value}")

    def _finish(self, submission: JobSubmission, reason: JobTerminationReason, *,
                exit_code: int | None = None, message: str = "", at: datetime | None = None) -> None:
        self.state.finish_job(submission, reason, at or workflow.now(), exit_code=exit_code, message=message)
        self._refresh_status()

    def _refresh_status(self) -> None:
        if self.state.status.is_finished:
            return
        status, message = derive_run_status(self.state)
        self.state.set_run_status(status, workflow.now(), message)
        self._publish_status()

    def _publish_status(self) -> None:
        if self.state.status != self._published_status:
            self._published_status = self.state.status
            workflow.upsert_search_attributes([search_attributes.RUN_STATUS.value_set(self.state.status.value)])

    def _job_spec(self, submission: JobSubmission) -> JobSpec:
        configuration = self.state.configuration
        return JobSpec(submission_id=submission.id, run_id=self.state.run_id, run_name=self.state.run_name,
                       project=self.state.project, replica_num=submission.replica_num,
                       submission_num=submission.submission_num, commands=configuration.commands,
                       env=configuration.env, working_dir=configuration.working_dir,
                       resources=configuration.resources)

    @staticmethod
    async def _database_activity(name: str, arg: object, *, summary: str, result_type: type | None = None) -> Any:
        """Short activities that only touch the database run as local activities: no round
        trip through the Temporal server, which is most of the latency of a submission."""
        return await workflow.execute_local_activity(
            name, arg, result_type=result_type, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=QUICK_RETRY, summary=summary)

    @staticmethod
    def _summary(action: str, submission: JobSubmission) -> str:
        return f"{action} replica {submission.replica_num}, submission {submission.submission_num}"

    async def _write_projections(self) -> None:
        """Writes the projection whenever what lists show has changed, newest version last;
        changes that arrive during a write are coalesced into the next one."""
        while True:
            await workflow.wait_condition(
                lambda: self.state.projection_key() != self._written_key
                or (self.state.status.is_finished and self._written_version < self.state.version))
            version, key = self.state.version, self.state.projection_key()
            await self._database_activity(names.WRITE_PROJECTION, self.state.model_copy(deep=True),
                                          summary=f"write projection v{version}")
            self._written_version, self._written_key = version, key


def _cause(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or error)


def _consume_outcome(task: asyncio.Task[Any]) -> None:
    """Marks the outcome of a task nobody awaits as seen, so asyncio doesn't log it as lost."""
    if not task.cancelled():
        task.exception()
