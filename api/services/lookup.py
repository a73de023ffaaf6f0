"""Finding one run of a project by name (the latest) or by id, with the API's 404."""

from __future__ import annotations

from api.auth import ProjectAccess
from api.errors import NotFound
from store.models import RunModel
from store.runs import RunStore


async def find_run(runs: RunStore, access: ProjectAccess, *, run_name: str | None = None,
                   run_id: str | None = None) -> RunModel:
    if run_id is not None:
        row = await runs.by_id(access.project.id, run_id)
    else:
        assert run_name is not None
        row = await runs.latest_by_name(access.project.id, run_name)
    if row is None:
        raise NotFound(f"run {run_name or run_id} not found in project {access.project.name}")
    return row
