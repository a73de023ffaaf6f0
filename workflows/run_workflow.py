"""The lifecycle of one run, top to bottom.

A RunWorkflow is the only writer of its run's state. Each replica is driven by its own
coroutine: allocate an instance (waiting for capacity when none is free), start the
process on the instance's host queue, watch it until it exits, release the instance, and
retry as the run's retry policy allows. Stop and abort requests, the `max_duration` timer
and a failed replica all end in the same place: every live replica is terminated, then
the run finishes with one termination reason. Every change bumps `state.version`; a
background coroutine writes the projection the API lists from, and the final projection
is written before the workflow returns.

A run lives as long as it must: when its history grows long, it continues as new with a
compacted state (finished submissions move to the database), and each replica's coroutine
starts again where its submission stands (waiting, starting, running or terminating), which
every activity allows, since each is idempotent per submission.
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
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutType
from temporalio.exceptions import TimeoutError as TemporalTimeout

with workflow.unsafe.imports_passed_through():
    from activities import names
    from core import search_attributes
    from core.configuration import ServiceConfiguration, initial_replicas
    from core.jobs import (
        Instance,
        JobSpec,
        ProbeRequest,
        ProjectionUpdate,
        ProvisionRequest,
        ProvisionResult,
        ReleaseRequest,
        ReplicaExit,
        StartedReplica,
        TerminateRequest,
        WatchRequest,
    )
    from core.run_state import (
        JobSubmission,
        PreviousDeployment,
        RunState,
        StopRequest,
        derive_run_status,
        how_it_ended,
    )
    from core.scaling import check_replica_count, replicas_to_add, replicas_to_remove
    from core.statuses import JobStatus, JobTerminationReason, RunStatus, RunTerminationReason
    from core.units import format_duration
    from workflows.messages import (
        CURRENT_WORKFLOW_VERSION,
        DEPLOY_UPDATE,
        HOST_LOST_SIGNAL,
        READINESS_SIGNAL,
        RELEASE_WITH_FINAL_PROJECTION,
        RESUMABLE,
        RUN_WORKFLOW,
        SCALE_SIGNAL,
        SCALE_UPDATE,
        SERVING,
        STATE_QUERY,
        STOP_SIGNAL,
        STOP_WITHOUT_WAITING_FOR_CANCEL,
        DeployCommand,
        DeployResult,
        HostLost,
        ReplicaReadiness,
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
# How long an activity may wait on a host's queue for the host's worker to take it: past it, the
# host is taken for gone (a stop or a start never waits on a dead host), and Temporal doesn't retry
# a schedule-to-start timeout. Above the host monitor's bound, which usually notices first.
HOST_PICKUP_TIMEOUT = timedelta(seconds=60)
# A service replica being scaled down or replaced leaves the proxy's rotation this long before its
# termination is sent: the proxies' view of ready replicas is at most a second old (api/proxy).
DRAIN = timedelta(seconds=3)
PROBE_HEARTBEAT_TIMEOUT = timedelta(seconds=30)
CONTINUE_AS_NEW_BEAT = timedelta(milliseconds=1)


class UnknownWorkflowVersion(RuntimeError):
    """Not an ApplicationError on purpose: it fails the workflow task, not the run, so Temporal
    retries the task, on an upgraded worker once there is one."""


@workflow.defn(name=RUN_WORKFLOW)
class RunWorkflow:
    @workflow.init
    def __init__(self, input: RunWorkflowInput) -> None:
        if input.workflow_version > CURRENT_WORKFLOW_VERSION:
            raise UnknownWorkflowVersion(f"run {input.state.run_name} is workflow version {input.workflow_version}; "
                                         f"this worker knows versions up to {CURRENT_WORKFLOW_VERSION}")
        self.state = input.state
        self._workflow_version = input.workflow_version
        self._continue_after_events = input.continue_as_new_after_events
        self._due_checked_version, self._due = -1, False
        self._rollout_ready_timeout = timedelta(seconds=input.rollout_ready_timeout_seconds)
        self._quiet_moment = timedelta(seconds=input.quiet_moment_seconds)
        self._rollout: asyncio.Task[None] | None = None
        self._replica_tasks: dict[int, asyncio.Task[None]] = {}
        # A continued run's live submissions, which run() resumes. Signals in the first activation
        # are handled before run() starts, so a scale then must count these replicas as live.
        self._resuming = [replica.current for replica in self.state.replicas
                          if replica.submissions and not replica.current.status.is_finished]
        # What is in flight. A run continues as new only with no local activity in flight (it must
        # be the task's last command, and a local activity's marker would follow it); starts and
        # terminations it leaves behind are sent again by the new execution, and watchers and
        # capacity waiters re-attach (every activity is idempotent per submission).
        self._local_in_flight = 0
        self._in_flight = 0  # starts and terminations
        self._watching = 0  # watchers and capacity waiters
        self._draining = False  # continuing as new: nothing new is sent meanwhile
        self._lost: dict[str, str] = {}  # submissions on hosts gone silent, and what to say
        self._failure: RunTerminationReason | None = None
        self._finishing = False
        self._written_version = -1
        self._written_key: tuple[object, ...] | None = None
        # A run that continued as new publishes its status again: its last one may not have been.
        self._published_status = None if self.state.replicas else self.state.status

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

    @workflow.signal(name=HOST_LOST_SIGNAL)
    def host_lost(self, lost: HostLost) -> None:
        """The host monitor found the host silent: these replicas end `instance_unreachable`
        without waiting on it (their watchers and terminations are abandoned). Sent again until
        their capacity is released, so a repeat changes nothing."""
        for submission in self.state.current_submissions():
            if submission.id in lost.submission_ids and not submission.status.is_finished \
                    and submission.id not in self._lost:
                name = f"{submission.host_name} ({lost.host_id})" if submission.host_name else lost.host_id
                self._lost[submission.id] = f"host {name} stopped answering (silent for {lost.silent_seconds:.0f}s)"

    @workflow.signal(name=READINESS_SIGNAL)
    def replica_readiness(self, readiness: ReplicaReadiness) -> None:
        """A service replica's prober: ready ones take the proxy's requests."""
        for submission in self.state.current_submissions():
            if submission.id == readiness.submission_id and submission.status == JobStatus.RUNNING \
                    and submission.ready != readiness.ready and not self._replica_stopping(submission.replica_num):
                submission.ready = readiness.ready
                detail = f": {readiness.message}" if readiness.message else ""
                self.state.record(workflow.now(), f"replica {submission.replica_num} "
                                  f"{'ready' if readiness.ready else 'not ready'}{detail}", submission)
                self._refresh_status()

    @workflow.signal(name=SCALE_SIGNAL)
    def scale_signal(self, command: ScaleCommand) -> None:
        """Fire-and-forget scale for batches; the API checked the range before sending, so a
        refusal here (the run began stopping meanwhile, say) is rare, and kept as an event."""
        refusal = self._scale_refusal(command)
        if refusal is None:
            self._scale(command)
        elif not self.state.status.is_finished:
            self.state.record(workflow.now(), f"scale to {command.replicas} refused: {refusal}")

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
        if self.state.previous_deployment is not None:
            return (f"run {self.state.run_name} is rolling out deployment {self.state.deployment_num}; "
                    "scale it once that is done")
        return check_replica_count(command.replicas, command.replica_range or self.state.configuration.replicas)

    def _scale(self, command: ScaleCommand) -> ScaleResult:
        configuration = self.state.configuration
        if command.replica_range is not None and isinstance(configuration, ServiceConfiguration):
            self.state.configuration = configuration.model_copy(update={"replicas": command.replica_range})
        busy = self._busy_replicas()
        live = [num for num in busy if self.state.replica(num).stop_reason is None]
        now = workflow.now()
        removed = replicas_to_remove(self.state, live, len(live) - command.replicas)
        for replica_num in removed:
            self.state.replica(replica_num).stop_reason = JobTerminationReason.SCALED_DOWN
            self.state.record(now, f"replica {replica_num} scaling down")
        added = replicas_to_add(self.state, busy, command.replicas - len(live))
        for replica_num in added:
            self._start_replica(replica_num)
        if command.replicas != self.state.desired_replicas:
            self.state.desired_replicas = command.replicas
            self.state.record(now, command.reason or f"scaled to {command.replicas} replicas")
        self._refresh_status()
        return ScaleResult(desired_replicas=command.replicas, added=added, removed=removed)

    @workflow.update(name=DEPLOY_UPDATE)
    def deploy(self, command: DeployCommand) -> DeployResult:
        state, now = self.state, workflow.now()
        configuration = command.configuration
        replicas = min(max(state.desired_replicas, configuration.replicas.min), configuration.replicas.max)
        changed = ", ".join(command.changed) or "nothing"
        if command.roll:
            state.previous_deployment = PreviousDeployment(configuration=state.configuration,
                                                           code_hash=state.code_hash,
                                                           deployment_num=state.deployment_num)
            state.deployments = max(state.deployments, state.deployment_num) + 1
            state.deployment_num = state.deployments
            state.record(now, f"rolling update to deployment {state.deployment_num} ({changed})")
        else:
            state.record(now, f"configuration updated in place ({changed})")
        state.configuration, state.code_hash = configuration, command.code_hash
        # Replicas added now run the new deployment; those removed are old ones first.
        self._scale(ScaleCommand(replicas=replicas, replica_range=configuration.replicas))
        if command.roll:
            self._rollout = asyncio.create_task(self._roll_out())
        return DeployResult(deployment_num=state.deployment_num, desired_replicas=state.desired_replicas)

    @deploy.validator
    def _validate_deploy(self, command: DeployCommand) -> None:
        refusal = None
        if self._finishing or self.state.status.is_finished:
            refusal = f"run {self.state.run_name} has finished"
        elif self._stopping():
            refusal = f"run {self.state.run_name} is stopping"
        elif not isinstance(self.state.configuration, ServiceConfiguration):
            refusal = f"run {self.state.run_name} is a task; only services update in place"
        elif self.state.previous_deployment is not None:
            refusal = (f"run {self.state.run_name} is still rolling out deployment {self.state.deployment_num}; "
                       "apply again once it is done")
        elif command.roll and self._workflow_version < SERVING:
            refusal = (f"run {self.state.run_name} started before rolling updates existed (workflow version "
                       f"{self._workflow_version}); stop it and apply again")
        if refusal is not None:
            raise ApplicationError(refusal, type="DeployRefused", non_retryable=True)

    def _busy_replicas(self) -> list[int]:
        """Replicas with a coroutine driving them, or about to (resumed by run())."""
        busy = [num for num, task in self._replica_tasks.items() if not task.done()]
        return busy + [s.replica_num for s in self._resuming if s.replica_num not in self._replica_tasks]

    # -- the run --------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: RunWorkflowInput) -> RunState:
        projection = asyncio.create_task(self._write_projections())
        # Continued as new (or scaled before this started): each live replica goes on where it stands.
        if self.state.replicas:
            for submission in self._resuming:
                self._replica_tasks[submission.replica_num] = asyncio.create_task(self._drive_replica(submission))
            self._resuming = []
        else:
            for replica_num in range(initial_replicas(self.state.configuration)):
                self._start_replica(replica_num)
        self._refresh_status()

        if self.state.previous_deployment is not None:  # continued as new in the middle of a rolling update
            self._rollout = asyncio.create_task(self._roll_out())
        if self._workflow_version >= RESUMABLE:
            timer = asyncio.create_task(self._enforce_max_duration())
            while not self._replicas_finished():
                await workflow.wait_condition(lambda: self._replicas_finished() or self._continue_as_new_due())
                if not self._replicas_finished():
                    await self._continue_as_new()
            timer.cancel()
        else:
            await self._wait_for_replicas_since_submission()
        self._finishing = True
        for task in self._replica_tasks.values():
            await task  # surfaces unexpected errors instead of dropping them
        if self._rollout is not None:
            await self._rollout  # it ends once the run stops

        if self.state.stop is not None:
            reason = self.state.stop.reason
        else:
            reason = self._failure or RunTerminationReason.ALL_JOBS_DONE
        self.state.finish_run(reason, workflow.now())
        self._publish_status()
        await workflow.wait_condition(lambda: self._written_version >= self.state.version)
        projection.cancel()
        if self._workflow_version >= RESUMABLE and self.state.status == RunStatus.FAILED:
            # The Temporal console then tells the truth too: a failed run is a failed workflow.
            raise ApplicationError(self._failure_summary(), type=reason.value, non_retryable=True)
        return self.state

    async def _wait_for_replicas_since_submission(self) -> None:
        """Versions 1 and 2: max_duration counts from submission."""
        max_duration = self.state.configuration.max_duration_seconds
        try:
            await workflow.wait_condition(self._replicas_finished,
                                          timeout=timedelta(seconds=max_duration) if max_duration else None,
                                          timeout_summary="max_duration")
        except TimeoutError:
            self._max_duration_exceeded()
            await workflow.wait_condition(self._replicas_finished)

    async def _enforce_max_duration(self) -> None:
        """max_duration counts from the first start of a replica, as dstack counts it: time spent
        waiting for capacity is not the run's."""
        max_duration = self.state.configuration.max_duration_seconds
        if not max_duration:
            return
        await workflow.wait_condition(lambda: self.state.started_at is not None or self._stopping())
        if self.state.started_at is None:
            return
        remaining = (self.state.started_at + timedelta(seconds=max_duration) - workflow.now()).total_seconds()
        if remaining > 0:
            await self._hold_while_draining()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(self._stopping, timeout=timedelta(seconds=remaining),
                                              timeout_summary="max_duration")
        self._max_duration_exceeded()

    def _max_duration_exceeded(self) -> None:
        if self.state.stop is None and not self._finishing:
            self.state.stop = StopRequest(abort=False, reason=RunTerminationReason.MAX_DURATION_EXCEEDED)
            self.state.record(workflow.now(), "max_duration exceeded")
            self._refresh_status()

    def _replicas_finished(self) -> bool:
        """Every replica has ended, and none is coming: a service scaled to zero waits."""
        if not all(task.done() for task in self._replica_tasks.values()):
            return False
        return self._stopping() or self.state.desired_replicas > 0

    # -- continuing as new ------------------------------------------------------------------------

    def _continue_as_new_due(self) -> bool:
        """Decided once per state version. The history's length grows without any job to the
        workflow (a workflow task forced after a local activity comes to it live, with nothing in
        it, and a replay has no such activation): read on every activation, it could turn true at
        a moment a replay never sees, and the replay would fail."""
        if self._stopping():
            return False  # it ends soon anyway
        if self._due_checked_version != self.state.version or self._workflow_version < SERVING:
            info = workflow.info()
            self._due_checked_version = self.state.version
            self._due = info.is_continue_as_new_suggested() or \
                info.get_current_history_length() >= self._continue_after_events
        return self._due

    async def _continue_as_new(self) -> None:
        """Continues as new with the compacted state, once no message handler is running and no
        local activity is in flight; the submissions that leave the state are stored first.
        Activities in flight are left to the old execution (watchers end at their next heartbeat):
        the new one resumes each replica where its submission stands, and every activity is
        idempotent per submission."""
        # A moment with nothing at all in flight comes soon unless replicas are running (a crash-looping
        # replica between attempts, say): then nothing is left behind.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._in_flight == self._local_in_flight == self._watching == 0,
                                          timeout=self._quiet_moment,
                                          timeout_summary="a quiet moment to continue as new")
        # From here on nothing new goes out (coroutines about to send something wait), so that the
        # local activities in flight drain and none is in flight when it continues.
        self._draining = True
        stored: set[str] = set()
        while True:
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self._local_in_flight == 0)
            state, leaving = self.state.compacted(workflow.now())
            unstored = [submission for submission in leaving if submission.id not in stored]
            # Finished submissions never change: each is stored once, before the state lets it go.
            await self._database_activity(names.WRITE_PROJECTION, ProjectionUpdate(state=state, compacted=unstored),
                                          summary=f"store {len(unstored)} finished submissions before continuing",
                                          draining=False)
            stored.update(submission.id for submission in unstored)
            # Decided on a timer's firing: a server event, which a workflow task retried because a
            # message came in during its first attempt delivers together with that message (a local
            # activity's result may come back on its own first, and the decision would miss it).
            await workflow.sleep(CONTINUE_AS_NEW_BEAT)
            await self._settled()
            if self._local_in_flight == 0 and workflow.all_handlers_finished():
                break
        # Taken right before continuing, in the same step, so that nothing this execution learnt (a
        # signal, say) is left out; submissions that finished since the write stay in it for now.
        state, _ = self.state.compacted(workflow.now(), stored)
        workflow.continue_as_new(RunWorkflowInput(
            state=state, workflow_version=CURRENT_WORKFLOW_VERSION,
            continue_as_new_after_events=self._continue_after_events,
            rollout_ready_timeout_seconds=self._rollout_ready_timeout.total_seconds(),
            quiet_moment_seconds=self._quiet_moment.total_seconds()))

    async def _hold_while_draining(self) -> None:
        """While the run drains to continue as new, a coroutine about to send something (an
        activity, a timer) waits instead; the new execution takes over from the state, where
        what it was about to do shows (a submission waiting, a replica to stop)."""
        if self._draining:
            await workflow.wait_condition(lambda: False)

    async def _settled(self) -> None:
        """Waits until a pass of the workflow's event loop changes nothing (no state change, no
        activity started or ended): then no coroutine woken by this activation (a signal, an
        activity's result, a timer) is left to add a command after continuing as new, which must
        be the task's last. A condition is looked at only once every coroutine waits again."""
        while True:
            before = (self.state.version, self._local_in_flight, self._in_flight, self._watching)
            await workflow.wait_condition(lambda: True)
            if (self.state.version, self._local_in_flight, self._in_flight, self._watching) == before:
                return

    # -- rolling updates --------------------------------------------------------------------------

    def _rolling_out(self, submission: JobSubmission) -> bool:
        return self.state.previous_deployment is not None and submission.deployment_num == self.state.deployment_num

    def _live_replicas(self) -> list[int]:
        return [num for num in self._busy_replicas() if self.state.replica(num).stop_reason is None]

    async def _roll_out(self) -> None:
        """Replaces the old deployment's replicas one at a time: a surge replica of the new one starts
        and becomes ready, then an old one drains and stops. A new replica that fails, or isn't ready
        within the bound, rolls the update back: the new replicas stop, the old ones never stopped
        serving. Resumed from the state alone after continuing as new."""
        state = self.state
        while not self._stopping():
            await self._hold_while_draining()
            live = self._live_replicas()
            old = [num for num in live if state.replica(num).current.deployment_num != state.deployment_num]
            new = [num for num in live if num not in old]
            if not old:
                state.previous_deployment = None
                state.record(workflow.now(), f"rolling update to deployment {state.deployment_num} done")
                self._refresh_status()
                return
            waiting = [num for num in new if not state.replica(num).current.ready]
            if not waiting and len(live) <= state.desired_replicas:
                (surge,) = replicas_to_add(state, self._busy_replicas(), 1)
                self._start_replica(surge)
                waiting = [surge]
            failure = await self._until_ready(waiting)
            if failure is not None:
                self._roll_back(failure)
                return
            if self._stopping():
                return
            (replaced,) = replicas_to_remove(state, old, 1)
            state.replica(replaced).stop_reason = JobTerminationReason.SCALED_DOWN
            state.record(workflow.now(), f"replica {replaced} replaced (deployment {state.deployment_num})")
            self._refresh_status()
            stopped = self._replica_tasks[replaced]
            await workflow.wait_condition(lambda task=stopped: task.done() or self._stopping())  # type: ignore[misc]

    async def _until_ready(self, replicas: list[int]) -> str | None:
        """Waits until the new replicas are ready; why not, when one ends or time runs out."""
        def ended() -> list[int]:
            return [num for num in replicas if self._replica_tasks[num].done()]

        try:
            await workflow.wait_condition(
                lambda: self._stopping() or bool(ended())
                or all(self.state.replica(num).current.ready for num in replicas),
                timeout=self._rollout_ready_timeout, timeout_summary="new replicas ready")
        except TimeoutError:
            return (f"replica {replicas[0]} was not ready within "
                    f"{format_duration(self._rollout_ready_timeout.total_seconds())}")
        if failed := ended():
            submission = self.state.replica(failed[0]).current
            how = f"exit code {submission.exit_code}" if submission.exit_code is not None else (
                submission.termination_reason.value if submission.termination_reason else "ended")
            return f"replica {failed[0]} ended ({how}) before it was ready"
        return None

    def _roll_back(self, why: str) -> None:
        state = self.state
        previous = state.previous_deployment
        assert previous is not None
        failed = state.deployment_num
        for num in self._live_replicas():
            if state.replica(num).current.deployment_num == failed:
                state.replica(num).stop_reason = JobTerminationReason.SCALED_DOWN
        state.configuration, state.code_hash = previous.configuration, previous.code_hash
        state.deployment_num, state.previous_deployment = previous.deployment_num, None
        state.record(workflow.now(), f"rolling update to deployment {failed} failed: {why}; "
                                     f"deployment {previous.deployment_num} goes on serving")
        self._refresh_status()

    # -- one replica ----------------------------------------------------------------------------

    def _start_replica(self, replica_num: int) -> None:
        submission = self.state.add_submission(str(workflow.uuid4()), replica_num, workflow.now())
        replica = self.state.replica(replica_num)
        replica.stop_reason = None
        replica.attempts_since, replica.retries = submission.submitted_at, 0
        self._replica_tasks[replica_num] = asyncio.create_task(self._drive_replica(submission))

    async def _drive_replica(self, submission: JobSubmission) -> None:
        replica = self.state.replica(submission.replica_num)
        replica.attempts_since = replica.attempts_since or submission.submitted_at
        while True:
            await self._run_submission(submission)
            reason = submission.termination_reason
            if submission.status != JobStatus.FAILED or self._replica_stopping(replica.replica_num):
                return
            if self._rolling_out(submission):
                return  # a new deployment's replica failed: the rolling update rolls back, the run goes on
            event = self._retry_event(submission)
            retry = self.state.configuration.retry
            elapsed = (workflow.now() - replica.attempts_since).total_seconds()
            if retry is None or event not in retry.on_events or elapsed >= retry.duration_seconds \
                    or reason == JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY:
                self._fail_run(RunTerminationReason.RETRY_LIMIT_EXCEEDED if retry and event in retry.on_events
                               else RunTerminationReason.JOB_FAILED)
                return
            replica.retries += 1
            delay = min(2 ** (replica.retries - 1), MAX_RETRY_DELAY_SECONDS, max(0.0, retry.duration_seconds - elapsed))
            submission = self.state.add_submission(str(workflow.uuid4()), replica.replica_num, workflow.now())
            submission.not_before = workflow.now() + timedelta(seconds=delay)
            self.state.set_job_status(submission, JobStatus.SUBMITTED, workflow.now(),
                                      f"retrying in {delay:g}s after {reason.value if reason else 'failure'}")
            self._refresh_status()

    def _retry_event(self, submission: JobSubmission) -> str:
        """The retry policy's name for how the submission failed, as dstack names them."""
        reason = submission.termination_reason
        if self._workflow_version < RESUMABLE:
            return "interruption" if submission.exit_code is None and reason != \
                JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY else "error"
        if reason == JobTerminationReason.INSTANCE_UNREACHABLE:
            return "interruption"
        if reason == JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY:
            return "no-capacity"
        return "error"

    async def _run_submission(self, submission: JobSubmission) -> None:
        """Drives one submission from where it stands to its end: a retry's backoff, capacity,
        the start, the process's life (terminated when the replica stops), the release."""
        if submission.not_before is not None and workflow.now() < submission.not_before:
            await self._hold_while_draining()
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._replica_stopping(submission.replica_num),
                                              timeout=submission.not_before - workflow.now(),
                                              timeout_summary="retry delay")
        instance = _instance_of(submission) or await self._provision(submission)
        if instance is None:
            return
        evicted = False
        try:
            if self._replica_stopping(submission.replica_num) and submission.status.rank < JobStatus.RUNNING.rank:
                self._finish(submission, self._stop_job_reason(submission.replica_num))
                return
            if submission.status.rank < JobStatus.RUNNING.rank:
                await self._hold_while_draining()
                self._in_flight += 1
                try:
                    started = await workflow.execute_activity(
                        names.START_REPLICA, self._job_spec(submission), result_type=StartedReplica,
                        task_queue=instance.task_queue, start_to_close_timeout=START_TIMEOUT,
                        schedule_to_start_timeout=HOST_PICKUP_TIMEOUT,
                        retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=10),
                        summary=self._summary("start", submission))
                except ActivityError as error:
                    reason = JobTerminationReason.INSTANCE_UNREACHABLE if _host_never_answered(error) \
                        else JobTerminationReason.EXECUTOR_ERROR
                    self._finish(submission, reason, message=_cause(error))
                    return
                finally:
                    self._in_flight -= 1
                submission.pid, submission.port, submission.address = started.pid, started.port, started.address
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
        except GeneratorExit:
            evicted = True  # from the worker's cache: the coroutine is closed, and replaying the history resumes it
            raise
        finally:
            # One local activity fewer per stopped run: the final projection write releases it.
            if not evicted and not (self._workflow_version >= RELEASE_WITH_FINAL_PROJECTION
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
        resources = self.state.configuration.resources
        request = ProvisionRequest(submission_id=submission.id, run_id=self.state.run_id, project=self.state.project,
                                   fleets=self.state.configuration.fleets or [], cpu_milli=resources.cpu_milli,
                                   memory_mb=resources.memory_mb, gpu=resources.gpu)
        result = await self._database_activity(names.PROVISION_INSTANCE, request, result_type=ProvisionResult,
                                               summary=self._summary("provision", submission))
        if result.instance is None and result.can_ever_fit:
            self.state.set_job_status(submission, JobStatus.SUBMITTED, workflow.now(), result.reason)
            self._refresh_status()
            result = await self._wait_for_instance(submission, request, stopping)
        if result.instance is None:
            if result.can_ever_fit:
                # Stopped while waiting (or out of time for it): the release gives back an allocation
                # that raced the cancel, and refuses any later one.
                await self._release(submission)
                if stopping():
                    self._finish(submission, self._stop_job_reason(submission.replica_num))
                else:
                    self._finish(submission, JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY,
                                 message=result.reason)
            else:
                self._finish(submission, JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY,
                             message=result.reason)
            return None
        instance = result.instance
        submission.instance_id = instance.id
        submission.host_id = instance.host_id
        submission.host_name = instance.host_name
        submission.task_queue = instance.task_queue
        submission.gpu_indices = instance.gpu_indices
        submission.price_per_hour = instance.price_per_hour
        self.state.set_job_status(submission, JobStatus.PROVISIONING, workflow.now())
        self._refresh_status()
        return instance

    async def _wait_for_instance(self, submission: JobSubmission, request: ProvisionRequest,
                                 stopping: Callable[[], bool]) -> ProvisionResult:
        """Waits for capacity until the replica stops; with `no-capacity` in the run's retry
        policy, at most until its retry.duration has passed (version 3)."""
        await self._hold_while_draining()
        waiting = asyncio.create_task(workflow.execute_activity(
            names.WAIT_FOR_INSTANCE, request, result_type=ProvisionResult,
            start_to_close_timeout=UNBOUNDED, heartbeat_timeout=WAIT_HEARTBEAT_TIMEOUT,
            retry_policy=QUICK_RETRY,
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=self._summary("wait for capacity for", submission)))
        self._watching += 1
        waiting.add_done_callback(self._watch_ended)
        deadline = self._capacity_deadline(submission)
        started = workflow.now()
        with contextlib.suppress(TimeoutError):  # only a retry policy with no-capacity sets a deadline
            await workflow.wait_condition(lambda: waiting.done() or stopping(), timeout=deadline,
                                          timeout_summary="retry.duration for no-capacity")
        # Past the deadline, the waiter's own answer may be the fence of the release that followed
        # a first attempt at this task (then retried): what counts is that time ran out.
        out_of_time = (deadline is not None and workflow.now() >= started + deadline and not stopping()
                       and not (waiting.done() and _allocated(waiting)))
        why = self._no_capacity_in_time() if out_of_time else "stopped while waiting for capacity"
        if not waiting.done():
            waiting.cancel()
            if self._workflow_version >= STOP_WITHOUT_WAITING_FOR_CANCEL:
                # An overloaded worker can miss a cancel for minutes; the release that follows
                # fences the submission instead, so the run stops now.
                waiting.add_done_callback(_consume_outcome)
                return ProvisionResult(reason=why)
        try:
            result: ProvisionResult = await waiting
        except (ActivityError, asyncio.CancelledError):
            return ProvisionResult(reason=why)
        return result if result.instance is not None or not out_of_time else ProvisionResult(reason=why)

    def _no_capacity_in_time(self) -> str:
        configuration = self.state.configuration
        limit = format_duration(configuration.retry.duration_seconds) if configuration.retry else "?"
        return f"no capacity for {configuration.resources.describe()} within retry.duration ({limit})"

    def _capacity_deadline(self, submission: JobSubmission) -> timedelta | None:
        retry = self.state.configuration.retry
        if self._workflow_version < RESUMABLE or retry is None or "no-capacity" not in retry.on_events:
            return None
        since = self.state.replica(submission.replica_num).attempts_since or submission.submitted_at
        return max(since + timedelta(seconds=retry.duration_seconds) - workflow.now(), timedelta(0))

    async def _watch_until_exit(self, submission: JobSubmission, instance: Instance) -> tuple[ReplicaExit, bool]:
        """Waits for the process to exit, terminating it when the run stops. The watcher keeps
        shipping logs during termination, so the last lines are never lost."""
        await self._hold_while_draining()
        watch = asyncio.create_task(workflow.execute_activity(
            names.WATCH_REPLICA, WatchRequest(submission_id=submission.id, run_id=self.state.run_id,
                                              replica_num=submission.replica_num,
                                              submission_num=submission.submission_num),
            result_type=ReplicaExit, task_queue=instance.task_queue, start_to_close_timeout=UNBOUNDED,
            schedule_to_start_timeout=HOST_PICKUP_TIMEOUT,
            heartbeat_timeout=WATCH_HEARTBEAT_TIMEOUT, retry_policy=QUICK_RETRY,
            summary=self._summary("watch", submission)))
        self._watching += 1
        watch.add_done_callback(self._watch_ended)
        probe = self._probe(submission, instance)
        try:
            return await self._until_exit(submission, instance, watch)
        finally:
            if probe is not None:
                probe.cancel()
                probe.add_done_callback(_consume_outcome)

    def _probe(self, submission: JobSubmission, instance: Instance) -> asyncio.Task[Any] | None:
        """A service replica's prober, on its host, for as long as it is watched (version 4)."""
        if self._workflow_version < SERVING or submission.port is None or submission.address is None \
                or not isinstance(self.state.configuration, ServiceConfiguration):
            return None
        request = ProbeRequest(workflow_id=self.state.workflow_id, submission_id=submission.id,
                               run_id=self.state.run_id, replica_num=submission.replica_num,
                               address=submission.address, port=submission.port,
                               probes=self.state.configuration.probes, ready=submission.ready)
        return asyncio.create_task(workflow.execute_activity(
            names.PROBE_REPLICA, request, task_queue=instance.task_queue, start_to_close_timeout=UNBOUNDED,
            schedule_to_start_timeout=HOST_PICKUP_TIMEOUT, heartbeat_timeout=PROBE_HEARTBEAT_TIMEOUT,
            retry_policy=QUICK_RETRY, cancellation_type=workflow.ActivityCancellationType.TRY_CANCEL,
            summary=self._summary("probe", submission)))

    async def _until_exit(self, submission: JobSubmission, instance: Instance,
                          watch: asyncio.Task[ReplicaExit]) -> tuple[ReplicaExit, bool]:
        sent_abort: bool | None = None  # None: no termination sent yet
        terminations: list[asyncio.Task[None]] = []
        stopping = partial(self._replica_stopping, submission.replica_num)
        while True:
            await workflow.wait_condition(
                lambda sent=sent_abort: watch.done() or (stopping() and sent is None)  # type: ignore[misc]
                or (self._abort_requested() and sent is False) or submission.id in self._lost)
            if watch.done():
                break
            if submission.id in self._lost:  # nothing on that host answers: abandon what was sent there
                for activity_task in [watch, *terminations]:
                    activity_task.cancel()
                    activity_task.add_done_callback(_consume_outcome)
                return ReplicaExit(exit_code=None, message=self._lost[submission.id]), False
            await self._hold_while_draining()
            if sent_abort is None and submission.ready and not self._stopping() \
                    and self._workflow_version >= SERVING:
                await self._leave_rotation(submission, watch)
                continue  # it may have exited, or its host been lost, meanwhile
            sent_abort = self._abort_requested()
            self.state.set_job_status(submission, JobStatus.TERMINATING, workflow.now())
            self._refresh_status()
            grace = 0.0 if sent_abort else self._remaining_grace(submission)
            submission.stop_sent = "abort" if sent_abort else "graceful"
            submission.stop_sent_at = submission.stop_sent_at or workflow.now()
            termination = asyncio.create_task(workflow.execute_activity(
                names.TERMINATE_REPLICA,
                TerminateRequest(submission_id=submission.id, abort=sent_abort, grace_seconds=grace),
                task_queue=instance.task_queue, start_to_close_timeout=timedelta(seconds=grace + 60),
                schedule_to_start_timeout=HOST_PICKUP_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=10), retry_policy=QUICK_RETRY,
                summary=self._summary("abort" if sent_abort else "stop", submission)))
            self._in_flight += 1
            termination.add_done_callback(self._landed)
            terminations.append(termination)
        try:
            exited = await watch
        except ActivityError as error:  # retried until its host's worker never took it again
            exited = ReplicaExit(exit_code=None, message=f"the host stopped answering: {_cause(error)}")
        for termination in terminations:  # the process is gone: nothing left to terminate
            termination.cancel()
            with contextlib.suppress(ActivityError, asyncio.CancelledError):
                await termination
        return exited, sent_abort is not None

    async def _leave_rotation(self, submission: JobSubmission, watch: asyncio.Task[ReplicaExit]) -> None:
        """A replica scaled down or replaced leaves the rotation (its stop_reason takes it out of
        the serving replicas) before it is terminated, so that no new request reaches it; the
        requests it has finish during the drain, and during stop_duration after SIGTERM."""
        submission.ready = False
        self.state.record(workflow.now(), f"replica {submission.replica_num} draining", submission)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: watch.done() or self._stopping(), timeout=DRAIN,
                                          timeout_summary="drain")

    def _landed(self, _: asyncio.Task[Any]) -> None:
        self._in_flight -= 1

    def _watch_ended(self, _: asyncio.Task[Any]) -> None:
        self._watching -= 1

    def _remaining_grace(self, submission: JobSubmission) -> float:
        """stop_duration, less what already passed when an earlier execution sent the stop."""
        grace = self.state.configuration.stop_duration_seconds
        if submission.stop_sent_at is None:
            return grace
        return max(0.0, grace - (workflow.now() - submission.stop_sent_at).total_seconds())

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
        status, message = derive_run_status(self.state, keep_when_idle=self._workflow_version >= RESUMABLE)
        self.state.set_run_status(status, workflow.now(), message)
        self._publish_status()

    def _publish_status(self) -> None:
        if self.state.status != self._published_status and not self._draining:
            self._published_status = self.state.status
            workflow.upsert_search_attributes([search_attributes.RUN_STATUS.value_set(self.state.status.value)])
        # What the Temporal console shows beside the run's summary (metadata, not a command).
        last = self.state.events[-1].message if self.state.events else ""
        workflow.set_current_details(
            f"**{self.state.status.value}**, {self.state.running_replicas()}/{self.state.desired_replicas} replicas "
            f"running\n\nlast event: {last}")

    def _failure_summary(self) -> str:
        """Why the run failed, for its workflow's failure: the reason and the last replica's end."""
        failed = [s for r in self.state.replicas for s in r.submissions if s.status == JobStatus.FAILED]
        last = max(failed, key=lambda s: s.finished_at or s.submitted_at, default=None)
        reason = self.state.termination_reason.value if self.state.termination_reason else "failed"
        if last is None:
            return f"run {self.state.run_name} failed: {reason}"
        return (f"run {self.state.run_name} failed: {reason}; replica {last.replica_num} "
                f"(submission {last.submission_num}) ended with {how_it_ended(last)}")

    def _job_spec(self, submission: JobSubmission) -> JobSpec:
        configuration = self.state.configuration
        return JobSpec(submission_id=submission.id, run_id=self.state.run_id, run_name=self.state.run_name,
                       project=self.state.project, replica_num=submission.replica_num,
                       submission_num=submission.submission_num, commands=configuration.commands,
                       env=configuration.env, working_dir=configuration.working_dir,
                       resources=configuration.resources, gpu_indices=submission.gpu_indices,
                       code_hash=self.state.code_hash,
                       port=configuration.port if isinstance(configuration, ServiceConfiguration)
                       and self._workflow_version >= SERVING else None)

    async def _database_activity(self, name: str, arg: object, *, summary: str, result_type: type | None = None,
                                 draining: bool = True) -> Any:
        """Short activities that only touch the database run as local activities: no round
        trip through the Temporal server, which is most of the latency of a submission.
        `draining=False`: the one sent while the run drains to continue as new."""
        if draining:
            await self._hold_while_draining()
        self._local_in_flight += 1
        try:
            return await workflow.execute_local_activity(
                name, arg, result_type=result_type, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=QUICK_RETRY, summary=summary)
        finally:
            self._local_in_flight -= 1

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
            update = ProjectionUpdate(state=self.state.model_copy(deep=True))
            await self._database_activity(names.WRITE_PROJECTION, update, summary=f"write projection v{version}")
            self._written_version, self._written_key = version, key


def _allocated(waiting: asyncio.Task[Any]) -> bool:
    """Whether a finished capacity waiter got an instance."""
    return not waiting.cancelled() and waiting.exception() is None and waiting.result().instance is not None


def _instance_of(submission: JobSubmission) -> Instance | None:
    """The instance a submission already holds (a run that continued as new), if any."""
    if submission.instance_id is None or submission.host_id is None or submission.task_queue is None:
        return None
    return Instance(id=submission.instance_id, submission_id=submission.id, host_id=submission.host_id,
                    host_name=submission.host_name or submission.host_id, task_queue=submission.task_queue,
                    price_per_hour=submission.price_per_hour, gpu_indices=submission.gpu_indices)


def _cause(error: ActivityError) -> str:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or error)


def _host_never_answered(error: ActivityError) -> bool:
    return isinstance(error.cause, TemporalTimeout) and error.cause.type == TimeoutType.SCHEDULE_TO_START


def _consume_outcome(task: asyncio.Task[Any]) -> None:
    """Marks the outcome of a task nobody awaits as seen, so asyncio doesn't log it as lost."""
    if not task.cancelled():
        task.exception()
