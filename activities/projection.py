"""Writing the run projection that lists and history read."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities import names
from core.run_state import RunState
from store.runs import RunStore


class ProjectionActivities:
    def __init__(self, runs: RunStore) -> None:
        self._runs = runs

    @activity.defn(name=names.WRITE_PROJECTION)
    async def write_projection(self, state: RunState) -> None:
        # Cost of live replicas grows with the wall clock, which belongs here, not in the workflow.
        await self._runs.write_projection(state, cost=state.cost(datetime.now(UTC)))
