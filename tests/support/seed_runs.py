"""Finished runs written straight to a deployment's database: lists read only the projection, so
hundreds of runs cost a second instead of hundreds of workflows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from core.configuration import parse_configuration
from core.statuses import RunStatus
from store.database import Database
from store.models import ProjectModel, RunModel, UserModel
from store.runs import NewRun, RunStore

SMALL = {"cpu": 0.1, "memory": "16MB"}


@dataclass(frozen=True)
class Seed:
    project: str
    user: str
    name: str
    status: RunStatus
    termination_reason: str | None = None
    resources: dict[str, Any] = field(default_factory=lambda: SMALL)


async def seed(database_url: str, runs: list[Seed], start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> list[str]:
    """The runs, submitted a second apart from `start` in the order given (the last is the newest),
    each finished a second after it was submitted; their ids."""
    database = Database(database_url)
    try:
        async with database.read() as session:
            projects = {name: id_ for name, id_ in await session.execute(select(ProjectModel.name, ProjectModel.id))}
            users = {name: id_ for name, id_ in await session.execute(select(UserModel.name, UserModel.id))}
        store, ids = RunStore(database), []
        for i, run in enumerate(runs):
            run_id = str(uuid.uuid4())
            submitted_at = start + timedelta(seconds=i)
            configuration = parse_configuration({"type": "task", "commands": ["true"], "resources": run.resources})
            await store.create(NewRun(id=run_id, project_id=projects[run.project], user_id=users[run.user],
                                      run_name=run.name, workflow_id=f"seeded-{run_id}", desired_replicas=1,
                                      configuration=configuration.model_dump(mode="json", by_alias=True),
                                      submitted_at=submitted_at))
            async with database.write() as session:
                await session.execute(update(RunModel).where(RunModel.id == run_id).values(
                    status=run.status.value, termination_reason=run.termination_reason, active=False,
                    finished_at=submitted_at + timedelta(seconds=1)))
            ids.append(run_id)
        return ids
    finally:
        await database.dispose()
