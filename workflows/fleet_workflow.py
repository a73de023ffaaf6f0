"""The life of an SSH fleet, top to bottom.

A FleetWorkflow is started by `fleets/apply` and lives until the fleet is removed.

1. **Set up** every host at once (activities/ssh_fleet.py, over SSH): `python3` must be 3.11 or
   later, the server's own durastack is installed in `~/.durastack/venv` when missing or
   different, and `durastack worker` is started detached, joining this fleet under the host id
   `<fleet>-<index>`. Then it waits for the workers to join (a worker's first heartbeat makes its
   host `active`). The fleet is `active` when any host's worker started, `failed` when none did;
   its status message names each host that failed, and why. `fleets/apply` again (the `apply`
   signal) sets every host up again: an upgraded server's version is installed, workers restart.
2. **Watch**, without an SSH session per host: hosts heartbeat the database, and a host silent for
   30 s is marked `unreachable` (worker/host_liveness.py). Every CHECK_INTERVAL this workflow asks
   the database which of its hosts are unreachable, and only for those opens SSH to start the
   worker again when its process is gone.
3. **Remove** (`fleets/delete`, the `delete` signal): hosts are `terminating` (the scheduler places
   nothing more there), the runs holding instances on them get the API's stop signal, and once
   every instance is released the workers are stopped over SSH; hosts and fleet end `terminated`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.fleet_messages import (
        APPLY_SIGNAL,
        BEGIN_FLEET_REMOVAL,
        CHECK_SSH_WORKER,
        CURRENT_FLEET_WORKFLOW_VERSION,
        DELETE_SIGNAL,
        FINISH_FLEET_REMOVAL,
        FLEET_HOSTS,
        FLEET_WORKFLOW,
        RECORD_PROVISIONING,
        SET_FLEET_MESSAGE,
        SET_UP_SSH_HOST,
        SILENT_HOSTS,
        STOP_SSH_WORKER,
        WAIT_FOR_FLEET_RELEASE,
        WAIT_FOR_HOSTS_TO_JOIN,
        FleetHost,
        FleetMessage,
        FleetRemoval,
        FleetWorkflowInput,
        HostSetup,
        JoinWait,
        ProvisioningOutcome,
        WorkerCheck,
        WorkerCheckRequest,
    )
    from workflows.messages import STOP_SIGNAL, StopCommand

# How often the fleet asks the database for silent hosts: each look is a timer and a local
# activity in the history, and a silent host's replicas are already ended by the host monitor.
CHECK_INTERVAL = timedelta(seconds=60)
# A worker joins within seconds of its start; past this, the fleet says which host has not.
JOIN_TIMEOUT_SECONDS = 90.0
# A connection refused or a host rebooting gets a few tries; a refusal (old Python, a key that is
# not accepted) is an answer, not an error, and is not retried.
SSH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=20),
                        maximum_attempts=3)
# Installing durastack and its dependencies with pip may take minutes on a fresh host.
SET_UP_TIMEOUT = timedelta(minutes=20)
SSH_HEARTBEAT_TIMEOUT = timedelta(seconds=60)
# Runs told to stop end within their stop_duration (at most an hour) and release their instances.
RELEASE_TIMEOUT = timedelta(hours=3)
CONTINUE_AS_NEW_AFTER_EVENTS = 2000
_LOCAL: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=30),
                          "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5))}


@workflow.defn(name=FLEET_WORKFLOW)
class FleetWorkflow:
    @workflow.init
    def __init__(self, input: FleetWorkflowInput) -> None:
        self._set_up_pending = not input.provisioned
        self._delete_requested = False

    @workflow.signal(name=APPLY_SIGNAL)
    def apply(self) -> None:
        self._set_up_pending = True

    @workflow.signal(name=DELETE_SIGNAL)
    def delete(self) -> None:
        self._delete_requested = True

    @workflow.run
    async def run(self, input: FleetWorkflowInput) -> None:
        if input.workflow_version > CURRENT_FLEET_WORKFLOW_VERSION:
            # Fails the workflow task, which Temporal retries until an upgraded worker takes it.
            raise RuntimeError(f"fleet workflow version {input.workflow_version} is newer than this worker's")
        while not self._delete_requested:
            if self._set_up_pending:
                self._set_up_pending = False
                if not await self._set_up_unless_deleted(input):
                    break
                continue
            try:
                await workflow.wait_condition(lambda: self._delete_requested or self._set_up_pending,
                                              timeout=CHECK_INTERVAL, timeout_summary="look for silent hosts")
            except TimeoutError:
                await self._restart_silent_workers(input)
            if self._continue_as_new_due() and not (self._delete_requested or self._set_up_pending):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(FleetWorkflowInput(fleet_id=input.fleet_id, fleet_name=input.fleet_name,
                                                            provisioned=True))
        await self._remove(input)

    # -- setting hosts up -------------------------------------------------------------------------

    async def _set_up_unless_deleted(self, input: FleetWorkflowInput) -> bool:
        """Sets every host up; False when a delete came first (the set-up is cancelled, and the
        removal stops whatever workers it had started)."""
        setting_up = asyncio.create_task(self._set_up(input))
        await workflow.wait_condition(lambda: setting_up.done() or self._delete_requested)
        if setting_up.done():
            await setting_up
            return True
        setting_up.cancel()
        with contextlib.suppress(asyncio.CancelledError, ActivityError):
            await setting_up
        return False

    async def _set_up(self, input: FleetWorkflowInput) -> None:
        hosts: list[FleetHost] = await workflow.execute_local_activity(
            FLEET_HOSTS, input.fleet_id, result_type=list[FleetHost], **_LOCAL)
        setups = list(await asyncio.gather(*(self._set_up_host(host) for host in hosts)))
        started = [setup.host_id for setup in setups if setup.started]
        if started:
            joined: list[str] = await workflow.execute_activity(
                WAIT_FOR_HOSTS_TO_JOIN, JoinWait(fleet_id=input.fleet_id, host_ids=started,
                                                 timeout_seconds=JOIN_TIMEOUT_SECONDS),
                result_type=list[str], start_to_close_timeout=timedelta(seconds=JOIN_TIMEOUT_SECONDS + 60),
                heartbeat_timeout=timedelta(seconds=30), retry_policy=SSH_RETRY,
                summary=f"wait for {len(started)} worker(s) to join")
            late = [host for host in hosts if host.host_id in started and host.host_id not in joined]
            notes = await asyncio.gather(*(self._why_not_joined(host) for host in late))
            by_id = {setup.host_id: setup for setup in setups}
            for host, note in zip(late, notes, strict=True):
                by_id[host.host_id] = HostSetup(host_id=host.host_id, started=True, message=note)
            setups = list(by_id.values())
        await workflow.execute_local_activity(
            RECORD_PROVISIONING, ProvisioningOutcome(fleet_id=input.fleet_id, setups=setups), **_LOCAL)

    async def _set_up_host(self, host: FleetHost) -> HostSetup:
        try:
            setup: HostSetup = await workflow.execute_activity(
                SET_UP_SSH_HOST, host, result_type=HostSetup, start_to_close_timeout=SET_UP_TIMEOUT,
                heartbeat_timeout=SSH_HEARTBEAT_TIMEOUT, retry_policy=SSH_RETRY, summary=f"set up {host.host_id}")
            return setup
        except ActivityError as error:
            return HostSetup(host_id=host.host_id, started=False, message=_cause(error))

    async def _why_not_joined(self, host: FleetHost) -> str:
        check = await self._check_worker(host, restart=False)
        if check is None:
            return "its worker was started but has not joined, and the host no longer answers over SSH"
        state = "runs but" if check.running else "exited and"
        tail = f": {check.log_tail}" if check.log_tail else ""
        return f"its worker {state} has not joined in {JOIN_TIMEOUT_SECONDS:g} s{tail}"

    # -- watching ---------------------------------------------------------------------------------

    async def _restart_silent_workers(self, input: FleetWorkflowInput) -> None:
        silent: list[FleetHost] = await workflow.execute_local_activity(
            SILENT_HOSTS, input.fleet_id, result_type=list[FleetHost], **_LOCAL)
        for host in silent:
            check = await self._check_worker(host, restart=True)
            if check is not None and check.restarted:
                workflow.logger.info("worker of a silent host restarted", extra={"host_id": host.host_id})
                await workflow.execute_local_activity(SET_FLEET_MESSAGE, FleetMessage(
                    fleet_id=input.fleet_id, message=f"{host.host_id}: its worker had exited and was started "
                                                     f"again at {workflow.now():%Y-%m-%d %H:%M:%S} UTC"), **_LOCAL)

    async def _check_worker(self, host: FleetHost, *, restart: bool) -> WorkerCheck | None:
        """None when the host does not answer over SSH (the next look tries again)."""
        try:
            check: WorkerCheck = await workflow.execute_activity(
                CHECK_SSH_WORKER, WorkerCheckRequest(host=host, restart=restart), result_type=WorkerCheck,
                start_to_close_timeout=timedelta(minutes=2), retry_policy=RetryPolicy(maximum_attempts=1),
                summary=f"{'restart' if restart else 'check'} the worker of {host.host_id}")
            return check
        except ActivityError:
            return None

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= CONTINUE_AS_NEW_AFTER_EVENTS

    # -- removing ---------------------------------------------------------------------------------

    async def _remove(self, input: FleetWorkflowInput) -> None:
        removal: FleetRemoval = await workflow.execute_local_activity(
            BEGIN_FLEET_REMOVAL, input.fleet_id, result_type=FleetRemoval, **_LOCAL)
        for workflow_id in removal.run_workflow_ids:
            try:
                await workflow.get_external_workflow_handle(workflow_id).signal(STOP_SIGNAL, StopCommand(abort=False))
            except FailureError:  # the run ended meanwhile
                workflow.logger.info("run already ended", extra={"workflow_id": workflow_id})
        await workflow.execute_activity(
            WAIT_FOR_FLEET_RELEASE, input.fleet_id, start_to_close_timeout=RELEASE_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=30), retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            summary=f"wait for {len(removal.run_workflow_ids)} run(s) to release the fleet")
        problems = await asyncio.gather(*(self._stop_worker(host) for host in removal.hosts))
        message = "; ".join(problem for problem in problems if problem)
        await workflow.execute_local_activity(
            FINISH_FLEET_REMOVAL, FleetMessage(fleet_id=input.fleet_id, message=message), **_LOCAL)

    async def _stop_worker(self, host: FleetHost) -> str:
        """A host that can't be reached is left as it is; the message says so."""
        try:
            await workflow.execute_activity(
                STOP_SSH_WORKER, host, start_to_close_timeout=timedelta(minutes=2), retry_policy=SSH_RETRY,
                summary=f"stop the worker of {host.host_id}")
        except ActivityError as error:
            return f"{host.host_id}: its worker could not be stopped: {_cause(error)}"
        return ""


def _cause(error: ActivityError) -> str:
    """The readable reason of an activity's last failure."""
    cause = error.cause
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError) and cause.cause is not None:
        cause = cause.cause
    return str(cause) if cause is not None else str(error)
