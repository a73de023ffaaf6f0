"""Messages to run workflows: signals (as one Temporal batch operation, or with a bounded
fan-out), and the scale update."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel
from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.workflowservice.v1 import StartBatchOperationRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.schemas import RunOutcome
from core.run_state import RunState
from store.models import RunModel
from workflows.messages import (
    DEPLOY_UPDATE,
    SCALE_UPDATE,
    STATE_QUERY,
    DeployCommand,
    DeployResult,
    ScaleCommand,
    ScaleResult,
)

log = structlog.get_logger(__name__)

Answer = TypeVar("Answer", bound=BaseModel)

MESSAGE_TIMEOUT = timedelta(seconds=10)
QUERY_TIMEOUT = timedelta(seconds=2)
# How many signals one batch request has in flight at once.
FAN_OUT = 64
# A run's row is written just before its workflow starts; a signal in between waits this long.
STARTING_GRACE_SECONDS = 3.0
# From this many runs on, a signal goes out as one Temporal batch operation: one RPC accepts it for
# all of them and the server delivers it, instead of one RPC per run from here (~2.5 ms each on the
# dev server, and they compete with the workflow tasks the first signals cause).
BATCH_OPERATION_MIN_RUNS = 16


class ScaleRefused(Exception):
    pass


async def query_run_state(client: Client, workflow_id: str, timeout: timedelta = QUERY_TIMEOUT) -> RunState | None:
    """The workflow's own state, or None when it doesn't answer within `timeout` (no worker,
    or a server whose query buffer is full): the caller answers from the projection then. The SDK
    retries a refused query, so the bound is on the whole call."""
    try:
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id)
        async with asyncio.timeout(timeout.total_seconds()):
            return await handle.query(STATE_QUERY, result_type=RunState, rpc_timeout=timeout)
    except Exception as error:  # the workflow may be unreachable; the projection still answers
        log.warning("run query failed; answering from the projection", workflow_id=workflow_id, error=str(error))
        return None


async def signal_run(client: Client, workflow_id: str, signal: str, argument: Any) -> None:
    deadline = asyncio.get_running_loop().time() + STARTING_GRACE_SECONDS
    while True:
        try:
            await client.get_workflow_handle(workflow_id).signal(signal, argument, rpc_timeout=MESSAGE_TIMEOUT)
            return
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def signal_batch(client: Client, workflow_ids: Sequence[str], signal: str, argument: Any,
                       reason: str) -> bool:
    """Starts a batch operation that signals each workflow; Temporal keeps it (and delivers it)
    through its own restarts. False when the server refuses it, e.g. too many batch operations at
    once, and the caller then signals one by one."""
    if len(workflow_ids) < BATCH_OPERATION_MIN_RUNS:
        return False
    payloads = await client.data_converter.encode([argument])
    request = StartBatchOperationRequest(
        namespace=client.namespace, job_id=str(uuid.uuid4()), reason=reason,
        executions=[WorkflowExecution(workflow_id=workflow_id) for workflow_id in workflow_ids],
        signal_operation=BatchOperationSignal(signal=signal, input=Payloads(payloads=payloads),
                                              identity=client.identity))
    try:
        await client.workflow_service.start_batch_operation(request, retry=True, timeout=MESSAGE_TIMEOUT)
    except RPCError as error:
        log.warning("batch operation refused; signalling one by one", signal=signal, runs=len(workflow_ids),
                    error=str(error))
        return False
    log.info("batch operation started", job_id=request.job_id, signal=signal, runs=len(workflow_ids))
    return True


async def scale_run(client: Client, workflow_id: str, command: ScaleCommand) -> ScaleResult:
    """The workflow's own answer; raises ScaleRefused with its reason."""
    return await _update(client, workflow_id, SCALE_UPDATE, command, ScaleResult, ScaleRefused)


class DeployRefused(Exception):
    """The workflow refused a re-applied configuration (it is stopping, or rolling out another)."""


async def deploy_run(client: Client, workflow_id: str, command: DeployCommand) -> DeployResult:
    """The workflow's own answer; raises DeployRefused with its reason."""
    return await _update(client, workflow_id, DEPLOY_UPDATE, command, DeployResult, DeployRefused)


async def _update(client: Client, workflow_id: str, name: str, command: BaseModel, result_type: type[Answer],
                  refused: type[Exception]) -> Answer:
    """A workflow update's answer; its validator's refusal raises `refused` with the reason."""
    try:
        return await client.get_workflow_handle(workflow_id).execute_update(
            name, command, result_type=result_type, rpc_timeout=MESSAGE_TIMEOUT)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        raise refused(cause.message if isinstance(cause, ApplicationError) else str(cause)) from None


async def _has_closed(client: Client, workflow_id: str) -> bool:
    """Whether the workflow exists and has closed: a message to it answers NOT_FOUND as it would
    for a workflow that never existed, and only the latter is an error."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=MESSAGE_TIMEOUT)
    except RPCError:
        return False
    return description.status != WorkflowExecutionStatus.RUNNING


async def fan_out(client: Client, references: Sequence[str], rows: dict[str, RunModel],
                  act: Callable[[RunModel], Awaitable[str]]) -> list[RunOutcome]:
    """One outcome per distinct reference; messages go out concurrently, at most FAN_OUT at a
    time, and no database transaction is open while they are in flight."""
    limit = asyncio.Semaphore(FAN_OUT)

    async def one(reference: str) -> RunOutcome:
        row = rows.get(reference)
        if row is None:
            return RunOutcome(run_name=reference, id=None, outcome="not_found")
        if not row.active:
            return RunOutcome(run_name=row.run_name, id=row.id, outcome="already_finished")
        async with limit:
            try:
                return RunOutcome(run_name=row.run_name, id=row.id, outcome=await act(row))
            except ScaleRefused as refusal:
                return RunOutcome(run_name=row.run_name, id=row.id, outcome=f"error: {refusal}")
            except Exception as error:
                if isinstance(error, RPCError) and error.status == RPCStatusCode.NOT_FOUND \
                        and await _has_closed(client, row.workflow_id):
                    return RunOutcome(run_name=row.run_name, id=row.id, outcome="already_finished")
                log.warning("message to run failed", run_id=row.id, run_name=row.run_name, error=str(error))
                return RunOutcome(run_name=row.run_name, id=row.id, outcome=f"error: {error}")

    return list(await asyncio.gather(*(one(reference) for reference in dict.fromkeys(references))))
