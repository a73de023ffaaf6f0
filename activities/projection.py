"""Writing the run projection that lists and history read."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities import names
from core.jobs import ProjectionUpdate
from store.capacity import Capacity
from store.runs import RunStore


class ProjectionActivities:
    def __init__(self, runs: RunStore, capacity: Capacity) -> None:
        self._runs = runs
        self._capacity = capacity

    @activity.defn(name=names.WRITE_PROJECTION)
    async def write_projection(self, update: ProjectionUpdate) -> None:
        state = update.state
        if state.status.is_finished:
            # The workflow skips the release of the replica that ends a stopping run and leaves it
            # to this write; released first, so a run listed as finished never holds capacity.
            await self._capacity.release_run(state.run_id)
        # Cost of live replicas grows with the wall clock, which belongs here, not in the workflow.
        await self._runs.write_projection(state, cost=state.cost(datetime.now(UTC)), compacted=update.compacted)
