"""FleetWorkflow in Temporal's time-skipping environment, with stand-in activities: what it does
with each host's set-up, a silent host, a delete during set-up, and the order of a removal. The
histories then replay in the SDK's sandbox, which fails on any clock, random or I/O call."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

from workflows import fleet_messages as names
from workflows.fleet_messages import (
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
from workflows.fleet_workflow import FleetWorkflow

pytestmark = pytest.mark.integration

FLEET_ID = "f0000000-0000-0000-0000-000000000000"


class StubFleet:
    """Two hosts: the first one's worker starts and joins, the second has an old Python."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.silent: list[FleetHost] = []
        self.set_up_blocks = False
        self.hosts = [FleetHost(fleet_id=FLEET_ID, host_id=f"f-{index}", index=index) for index in range(2)]

    def activities(self) -> list[Any]:
        @activity.defn(name=names.FLEET_HOSTS)
        async def fleet_hosts(fleet_id: str) -> list[FleetHost]:
            return self.hosts

        @activity.defn(name=names.SET_UP_SSH_HOST)
        async def set_up_ssh_host(host: FleetHost) -> HostSetup:
            self.calls.append(("set_up", host.host_id))
            while self.set_up_blocks:  # until cancelled through the heartbeat
                activity.heartbeat()
                await asyncio.sleep(0.1)
            if host.index == 1:
                return HostSetup(host_id=host.host_id, started=False, message="python3 is too old")
            return HostSetup(host_id=host.host_id, started=True)

        @activity.defn(name=names.WAIT_FOR_HOSTS_TO_JOIN)
        async def wait_for_hosts_to_join(wait: JoinWait) -> list[str]:
            return wait.host_ids

        @activity.defn(name=names.RECORD_PROVISIONING)
        async def record_provisioning(outcome: ProvisioningOutcome) -> None:
            self.calls.append(("record", sorted((setup.host_id, setup.started, setup.message)
                                                for setup in outcome.setups)))

        @activity.defn(name=names.SILENT_HOSTS)
        async def silent_hosts(fleet_id: str) -> list[FleetHost]:
            silent, self.silent = self.silent, []
            return silent

        @activity.defn(name=names.CHECK_SSH_WORKER)
        async def check_ssh_worker(request: WorkerCheckRequest) -> WorkerCheck:
            self.calls.append(("check", (request.host.host_id, request.restart)))
            return WorkerCheck(running=False, restarted=request.restart)

        @activity.defn(name=names.SET_FLEET_MESSAGE)
        async def set_fleet_message(message: FleetMessage) -> None:
            self.calls.append(("message", message.message.split(" at ")[0]))

        @activity.defn(name=names.BEGIN_FLEET_REMOVAL)
        async def begin_fleet_removal(fleet_id: str) -> FleetRemoval:
            self.calls.append(("begin_removal", fleet_id))
            return FleetRemoval(run_workflow_ids=["run-that-ended"], hosts=self.hosts[:1])

        @activity.defn(name=names.WAIT_FOR_FLEET_RELEASE)
        async def wait_for_fleet_release(fleet_id: str) -> None:
            self.calls.append(("wait_release", fleet_id))

        @activity.defn(name=names.STOP_SSH_WORKER)
        async def stop_ssh_worker(host: FleetHost) -> None:
            self.calls.append(("stop", host.host_id))
            raise ApplicationError("host unreachable", non_retryable=True)

        @activity.defn(name=names.FINISH_FLEET_REMOVAL)
        async def finish_fleet_removal(message: FleetMessage) -> None:
            self.calls.append(("finish", message.message))

        return [fleet_hosts, set_up_ssh_host, wait_for_hosts_to_join, record_provisioning, silent_hosts,
                check_ssh_worker, set_fleet_message, begin_fleet_removal, wait_for_fleet_release, stop_ssh_worker,
                finish_fleet_removal]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


async def start(client: Client, stub: StubFleet) -> tuple[WorkflowHandle[Any, Any], Worker]:
    task_queue = f"fleets-{uuid.uuid4().hex[:8]}"
    worker = Worker(client, task_queue=task_queue, workflows=[FleetWorkflow], activities=stub.activities(),
                    workflow_runner=UnsandboxedWorkflowRunner())
    asyncio.create_task(worker.run())  # noqa: RUF006 - shut down by the test
    handle = await client.start_workflow(
        names.FLEET_WORKFLOW, FleetWorkflowInput(fleet_id=FLEET_ID, fleet_name="f"),
        id=f"fleet-f-{uuid.uuid4().hex[:8]}", task_queue=task_queue, start_signal=names.APPLY_SIGNAL)
    return handle, worker


async def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def replays(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    history = await client.get_workflow_handle(handle.id).fetch_history()
    await Replayer(workflows=[FleetWorkflow], data_converter=pydantic_data_converter).replay_workflow(history)


async def test_set_up_records_each_host_then_removal_stops_runs_before_workers(env: WorkflowEnvironment) -> None:
    stub = StubFleet()
    handle, worker = await start(env.client, stub)
    await wait_until(lambda: "record" in stub.names())
    # The start signal and the input both ask for a set-up: it happens once.
    assert stub.names() == ["set_up", "set_up", "record"]
    assert stub.calls[-1] == ("record", [("f-0", True, ""), ("f-1", False, "python3 is too old")])

    await handle.signal(names.DELETE_SIGNAL)
    await handle.result()
    assert stub.names()[3:] == ["begin_removal", "wait_release", "stop", "finish"]
    assert stub.calls[-1] == ("finish", "f-0: its worker could not be stopped: host unreachable")
    await worker.shutdown()
    await replays(env.client, handle)


async def test_a_silent_host_gets_its_worker_started_again(env: WorkflowEnvironment) -> None:
    stub = StubFleet()
    handle, worker = await start(env.client, stub)
    await wait_until(lambda: "record" in stub.names())
    stub.silent = stub.hosts[:1]
    await wait_until(lambda: "message" in stub.names())  # the next look, a minute later
    assert stub.calls[3:] == [("check", ("f-0", True)), ("message", "f-0: its worker had exited and was started again")]

    await handle.signal(names.APPLY_SIGNAL)  # apply again: every host is set up again
    await wait_until(lambda: stub.names().count("record") == 2)
    await handle.signal(names.DELETE_SIGNAL)
    await handle.result()
    await worker.shutdown()
    await replays(env.client, handle)


async def test_a_delete_during_set_up_cancels_it_and_removes_the_fleet(env: WorkflowEnvironment) -> None:
    stub = StubFleet()
    stub.set_up_blocks = True
    handle, worker = await start(env.client, stub)
    await wait_until(lambda: stub.names().count("set_up") == 2)
    await handle.signal(names.DELETE_SIGNAL)
    await handle.result()
    assert "record" not in stub.names()
    assert stub.names()[2:] == ["begin_removal", "wait_release", "stop", "finish"]
    await worker.shutdown()
    await replays(env.client, handle)
