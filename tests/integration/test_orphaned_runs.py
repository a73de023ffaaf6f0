"""A run whose workflow never started (the API died between writing its row and starting the
workflow) is marked failed once no start can be in flight, and its name is free again; on SQLite
and PostgreSQL, against a real Temporal server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api.services.orphans import MESSAGE, ORPHAN_AFTER, OrphanedRuns
from server.temporal import connect
from store.database import Database
from store.models import ProjectModel, UserModel
from store.runs import NewRun, RunStore
from tests.support.durastack import DurastackProcesses
from tests.support.temporal import TemporalDevServer
from workflows.messages import RUN_WORKFLOW

pytestmark = pytest.mark.integration
LONG_AGO = datetime.now(UTC) - ORPHAN_AFTER - timedelta(seconds=5)


async def add_row(database: Database, name: str, submitted_at: datetime) -> NewRun:
    """The row `apply` writes before it starts the workflow, and nothing after it."""
    async with database.read() as session:
        project_id = (await session.execute(select(ProjectModel.id).where(ProjectModel.name == "main"))).scalar_one()
        user_id = (await session.execute(select(UserModel.id).limit(1))).scalar_one()
    run_id = str(uuid.uuid4())
    run = NewRun(id=run_id, project_id=project_id, user_id=user_id, run_name=name,
                 workflow_id=f"run-main-{name}-{run_id[:8]}", desired_replicas=1,
                 configuration={"type": "task", "commands": ["true"]}, submitted_at=submitted_at)
    await RunStore(database).create(run)
    return run


async def test_a_sweep_fails_only_old_runs_that_temporal_does_not_know(database: Database,
                                                                      temporal: TemporalDevServer) -> None:
    client = await connect(temporal.address, "default")
    orphan = await add_row(database, "orphan", LONG_AGO)
    young = await add_row(database, "young", datetime.now(UTC))  # its start may still be in flight
    started = await add_row(database, "started", LONG_AGO)
    # A workflow that no worker runs yet: it exists, so its run is not an orphan.
    handle = await client.start_workflow(RUN_WORKFLOW, id=started.workflow_id, task_queue=f"idle-{uuid.uuid4()}")
    try:
        assert await OrphanedRuns(RunStore(database), client).sweep() == 1
    finally:
        await handle.terminate()

    runs = RunStore(database)
    failed = await runs.by_id(orphan.project_id, orphan.id)
    assert failed is not None and (failed.active, failed.status, failed.status_message) == (False, "failed", MESSAGE)
    assert failed.finished_at is not None
    for kept in (young, started):
        row = await runs.by_id(kept.project_id, kept.id)
        assert row is not None and (row.active, row.status) == (True, "submitted")


def test_apply_and_plan_take_the_name_of_a_run_whose_workflow_never_started(
        deploy: Callable[..., DurastackProcesses]) -> None:
    deployment = deploy()
    api = deployment.client()

    async def leave_orphans() -> list[NewRun]:
        database = Database(deployment.env["DATABASE_URL"])
        try:
            return [await add_row(database, name, LONG_AGO) for name in ("reborn", "planned")]
        finally:
            await database.dispose()

    def task(name: str) -> dict[str, object]:
        return {"type": "task", "name": name, "commands": ["echo again"], "resources": {"cpu": 0.1, "memory": "16MB"}}

    reborn, planned = asyncio.run(leave_orphans())
    run = api.apply(task("reborn"))
    assert run["id"] != reborn.id
    assert api.wait_finished("reborn")["status"] == "done"
    plan = api.ok("runs/get_plan", {"run_spec": {"configuration": task("planned")}})
    assert (plan["action"], plan["current_run"], plan["finished_runs"]) == ("create", None, 1)
    for orphan in (reborn, planned):
        old = api.get(run_id=orphan.id)
        assert (old["status"], old["status_message"]) == ("failed", MESSAGE)
