"""Stop, scale and delete: one request for any number of runs, one outcome per run.

Only the run's owner, project admins and managers and global admins may act on a run. A run the
caller may not touch gets the outcome `error: forbidden: ...` and no message; like any other
per-run outcome, it doesn't fail the request, which answers 200 even when every run is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.client import Client

from api.auth import ProjectAccess
from api.errors import ApiError
from api.schemas import RunOutcome
from api.services.run_messages import (
    BATCH_OPERATION_MIN_RUNS,
    fan_out,
    query_run_state,
    scale_run,
    signal_batch,
    signal_run,
)
from core.configuration import ServiceConfiguration, parse_configuration
from core.scaling import check_replica_count
from store.models import RunModel
from store.runs import RunStore
from workflows.messages import SCALE_SIGNAL, STOP_SIGNAL, ScaleCommand, StopCommand

PROJECTION_WAIT_SECONDS = 5.0


class RunCommands:
    def __init__(self, runs: RunStore, client: Client) -> None:
        self._runs = runs
        self._client = client

    async def stop(self, access: ProjectAccess, references: Sequence[str], abort: bool) -> list[RunOutcome]:
        """A run shown finished is `already_finished`. A stop of a few runs asks each active run's
        workflow first (see _caught_up); a batch of BATCH_OPERATION_MIN_RUNS or more goes by the rows,
        as a query per run would cost it more than the signals."""
        rows, refused = _authorize(access, await self._runs.find(access.project.id, references))
        if len(rows) < BATCH_OPERATION_MIN_RUNS:
            rows = dict(zip(rows, await asyncio.gather(*(self._caught_up(access.project.id, row)
                                                          for row in rows.values())), strict=True))
        if abort:  # recorded first: an abort that its workflow can't carry out still ends the run
            await self._runs.request_abort([row.id for row in rows.values() if row.active])
        send = await self._signaller(rows, STOP_SIGNAL, StopCommand(abort=abort),
                                     f"{'abort' if abort else 'stop'} by {access.user.name}")

        async def stop_one(row: RunModel) -> str:
            await send(row)
            return "stopping"

        return _with_refusals(references, await fan_out(self._client, references, rows, stop_one), refused, "stop")

    async def scale(self, access: ProjectAccess, references: Sequence[str], replicas: int) -> list[RunOutcome]:
        """Bounds are checked here first, for every run, so that a refusal names the range and
        nothing is sent. One run gets the workflow's own answer (an update); a batch, signals."""
        rows, refused = _authorize(access, await self._runs.find(access.project.id, references))
        # The autoscaler owns these runs' replica count: a manual scale would be undone at its next round.
        autoscaled = {reference: row for reference, row in rows.items() if row.active and _autoscaled_refusal(row)}
        rows = {reference: row for reference, row in rows.items() if reference not in autoscaled}
        for reference, row in rows.items():
            if row.active:
                _check_scalable(reference, row, replicas)
        command = ScaleCommand(replicas=replicas)
        if len(rows) > 1:
            send = await self._signaller(rows, SCALE_SIGNAL, command,
                                         f"scale to {replicas} by {access.user.name}")

        async def scale_one(row: RunModel) -> str:
            if len(rows) == 1:
                await scale_run(self._client, row.workflow_id, command)
                return "scaled"
            await send(row)
            return "scaling"

        outcomes = _with_refusals(references, await fan_out(self._client, references, rows, scale_one), refused,
                                  "scale")
        return [_autoscaled_outcome(autoscaled[reference]) if reference in autoscaled else outcome
                for reference, outcome in zip(dict.fromkeys(references), outcomes, strict=True)]

    async def _signaller(self, rows: dict[str, RunModel], signal: str, argument: Any,
                         reason: str) -> Callable[[RunModel], Awaitable[None]]:
        """Sends the signal to every active run: as one batch operation when there are enough,
        then returns what signals each run the batch did not cover. A run whose workflow has not
        written its first projection yet may not have started; it gets its own signal, which
        waits for the start."""
        started = {row.workflow_id for row in rows.values() if row.active and row.version > 0}
        if not await signal_batch(self._client, sorted(started), signal, argument, reason):
            started = set()

        async def send(row: RunModel) -> None:
            if row.workflow_id not in started:
                await signal_run(self._client, row.workflow_id, signal, argument)

        return send

    async def delete(self, access: ProjectAccess, references: Sequence[str]) -> list[RunOutcome]:
        """Marks finished runs deleted; nothing is removed. A run id deletes that run; a name
        deletes every finished run of that name (the caller's own only, unless they manage the
        project), so that the name no longer resolves. A name with an active run is refused."""
        rows, refused = _authorize(access, await self._runs.find(access.project.id, references))
        rows = {reference: await self._caught_up(access.project.id, row) for reference, row in rows.items()}
        outcomes: list[RunOutcome] = []
        by_id: list[str] = []
        owner_filter = None if access.actor.manages_project else access.user.id
        for reference in dict.fromkeys(references):
            row = rows.get(reference)
            if reference in refused:
                outcomes.append(_refusal(refused[reference], "delete"))
            elif row is None:
                outcomes.append(RunOutcome(run_name=reference, id=None, outcome="not_found"))
            elif row.active:
                outcomes.append(RunOutcome(run_name=row.run_name, id=row.id,
                                           outcome=f"error: run {row.run_name} is active; stop it first"))
            else:
                if reference == row.id:
                    by_id.append(row.id)
                else:
                    await self._runs.mark_name_deleted(access.project.id, row.run_name, owner_filter)
                outcomes.append(RunOutcome(run_name=row.run_name, id=row.id, outcome="deleted"))
        await self._runs.mark_deleted(by_id)
        return outcomes

    async def _caught_up(self, project_id: str, row: RunModel) -> RunModel:
        """The row as the run's workflow already sees it: `runs/get` answers from the workflow, so
        a run shown finished may be a moment ahead of its final projection write, which is then
        waited for. A workflow that doesn't answer leaves the row as it is."""
        if not row.active:
            return row
        state = await query_run_state(self._client, row.workflow_id)
        if state is None or not state.status.is_finished:
            return row
        return await self._final_projection(project_id, row)

    async def _final_projection(self, project_id: str, row: RunModel) -> RunModel:
        """The row once the workflow's final projection has landed (it writes it before it
        returns), or as it is after PROJECTION_WAIT_SECONDS."""
        deadline = asyncio.get_running_loop().time() + PROJECTION_WAIT_SECONDS
        while row.active and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            row = (await self._runs.find(project_id, [row.id])).get(row.id, row)
        return row


def _authorize(access: ProjectAccess, rows: dict[str, RunModel]) -> tuple[dict[str, RunModel], dict[str, RunModel]]:
    """The runs the caller may act on, and the ones they may not, by reference."""
    allowed: dict[str, RunModel] = {}
    refused: dict[str, RunModel] = {}
    for reference, row in rows.items():
        (allowed if access.may_manage_run(row.user_id) else refused)[reference] = row
    return allowed, refused


def _refusal(row: RunModel, verb: str) -> RunOutcome:
    return RunOutcome(run_name=row.run_name, id=row.id,
                      outcome=f"error: forbidden: only the run's owner or a project admin/manager may {verb} it")


def _with_refusals(references: Sequence[str], outcomes: list[RunOutcome], refused: dict[str, RunModel],
                   verb: str) -> list[RunOutcome]:
    """`fan_out` answers one outcome per distinct reference, in order; refused runs were kept
    from it, so their outcomes are replaced here."""
    return [_refusal(refused[reference], verb) if reference in refused else outcome
            for reference, outcome in zip(dict.fromkeys(references), outcomes, strict=True)]


def _autoscaled_refusal(row: RunModel) -> str | None:
    """Why a service with `scaling` is not scaled by hand, or None for any other run."""
    configuration = parse_configuration(row.configuration)
    if not isinstance(configuration, ServiceConfiguration) or configuration.scaling is None:
        return None
    scaling = configuration.scaling
    return (f"run {row.run_name} is autoscaled (scaling: {scaling.metric}, target {scaling.target:g}); "
            "change replicas or scaling with apply")


def _autoscaled_outcome(row: RunModel) -> RunOutcome:
    return RunOutcome(run_name=row.run_name, id=row.id, outcome=f"error: {_autoscaled_refusal(row)}")


def _check_scalable(reference: str, row: RunModel, replicas: int) -> None:
    configuration = parse_configuration(row.configuration)
    if not isinstance(configuration, ServiceConfiguration):
        raise ApiError(400, f"runs_names: run {reference} is a task; only services scale", "runs_names")
    refusal = check_replica_count(replicas, configuration.replicas)
    if refusal is not None:
        raise ApiError(400, f"replicas: run {reference}: {refusal}", "replicas")
