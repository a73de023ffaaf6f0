"""What the autoscaler reads of the runs projection: active services with `scaling`, and a run's
events (for when it last scaled). Lists leave the stored state out, as `runs/list` does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Select, select

from core.configuration import ServiceConfiguration, parse_configuration
from core.run_state import RunEvent
from core.service_configuration import ScalingConfig
from core.statuses import RunStatus
from store.database import Database
from store.models import RunModel

_EVENTS = TypeAdapter(list[RunEvent])


@dataclass(frozen=True)
class AutoscaledRun:
    id: str
    run_name: str
    workflow_id: str
    desired_replicas: int  # as the projection last heard it
    configuration: ServiceConfiguration
    submitted_at: datetime
    version: int  # of the projection: its events change only with it

    @property
    def scaling(self) -> ScalingConfig:
        assert self.configuration.scaling is not None
        return self.configuration.scaling


def _columns() -> Select[Any]:
    return select(RunModel.id, RunModel.run_name, RunModel.workflow_id, RunModel.desired_replicas,
                  RunModel.configuration, RunModel.submitted_at, RunModel.version).where(
        RunModel.active.is_(True), RunModel.version > 0, RunModel.status != RunStatus.TERMINATING.value,
        RunModel.configuration["type"].as_string() == "service")


class AutoscaledRuns:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def active(self) -> list[AutoscaledRun]:
        """Services that have started (their workflow wrote the projection), are not stopping, and
        have `scaling`."""
        async with self._db.read() as session:
            rows = (await session.execute(_columns())).all()
        return [run for row in rows if (run := _autoscaled(row)) is not None]

    async def by_id(self, run_id: str) -> AutoscaledRun | None:
        async with self._db.read() as session:
            row = (await session.execute(_columns().where(RunModel.id == run_id))).one_or_none()
        return _autoscaled(row) if row is not None else None

    async def events(self, run_id: str) -> list[RunEvent]:
        """The run's events as its projection last stored them (the workflow keeps the last 200)."""
        async with self._db.read() as session:
            events = (await session.execute(select(RunModel.state["events"]).where(RunModel.id == run_id))
                      ).scalar_one_or_none()
        return _EVENTS.validate_python(events) if events else []


def _autoscaled(row: Sequence[Any]) -> AutoscaledRun | None:
    run_id, run_name, workflow_id, desired, configuration, submitted_at, version = row
    parsed = parse_configuration(configuration)
    if not isinstance(parsed, ServiceConfiguration) or parsed.scaling is None:
        return None
    return AutoscaledRun(id=run_id, run_name=run_name, workflow_id=workflow_id, desired_replicas=desired,
                         configuration=parsed, submitted_at=submitted_at, version=version)
