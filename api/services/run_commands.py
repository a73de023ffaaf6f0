"""Stop, scale and delete: one request for any number of runs, one outcome per run."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client

from api.auth import ProjectAccess
from api.errors import ApiError
from api.schemas import RunOutcome
from api.services.run_messages import fan_out, scale_run, signal_run
from core.configuration import ServiceConfiguration, parse_configuration
from core.scaling import check_replica_count
from store.models import RunModel
from store.runs import RunStore
from workflows.messages import SCALE_SIGNAL, STOP_SIGNAL, ScaleCommand, StopCommand


class RunCommands:
    def __init__(self, runs: RunStore, client: Client) -> None:
        self._runs = runs
        self._client = client

    async def stop(self, access: ProjectAccess, references: Sequence[str], abort: bool) -> list[RunOutcome]:
        rows = await self._runs.find(access.project.id, references)
        command = StopCommand(abort=abort)

        async def stop_one(row: RunModel) -> str:
            await signal_run(self._client, row.workflow_id, STOP_SIGNAL, command)
            return "stopping"

        return await fan_out(references, rows, stop_one)

    async def scale(self, access: ProjectAccess, references: Sequence[str], replicas: int) -> list[RunOutcome]:
        """Bounds are checked here first, for every run, so that a refusal names the range and
        nothing is sent. One run gets the workflow's own answer (an update); a batch, signals."""
        rows = await self._runs.find(access.project.id, references)
        for reference, row in rows.items():
            if row.active:
                _check_scalable(reference, row, replicas)
        command = ScaleCommand(replicas=replicas)

        async def scale_one(row: RunModel) -> str:
            if len(rows) == 1:
                await scale_run(self._client, row.workflow_id, command)
                return "scaled"
            await signal_run(self._client, row.workflow_id, SCALE_SIGNAL, command)
            return "scaling"

        return await fan_out(references, rows, scale_one)

    async def delete(self, access: ProjectAccess, references: Sequence[str]) -> list[RunOutcome]:
        rows = await self._runs.find(access.project.id, references)
        outcomes: list[RunOutcome] = []
        deletable: list[str] = []
        for reference in dict.fromkeys(references):
            row = rows.get(reference)
            if row is None:
                outcomes.append(RunOutcome(run_name=reference, id=None, outcome="not_found"))
            elif row.active:
                outcomes.append(RunOutcome(run_name=row.run_name, id=row.id,
                                           outcome=f"error: run {row.run_name} is active; stop it first"))
            else:
                deletable.append(row.id)
                outcomes.append(RunOutcome(run_name=row.run_name, id=row.id, outcome="deleted"))
        await self._runs.mark_deleted(deletable)
        return outcomes


def _check_scalable(reference: str, row: RunModel, replicas: int) -> None:
    configuration = parse_configuration(row.configuration)
    if not isinstance(configuration, ServiceConfiguration):
        raise ApiError(400, f"runs_names: run {reference} is a task; only services scale", "runs_names")
    refusal = check_replica_count(replicas, configuration.replicas)
    if refusal is not None:
        raise ApiError(400, f"replicas: run {reference}: {refusal}", "replicas")
