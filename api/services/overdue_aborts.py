"""Aborts that the run's workflow could not carry out.

An abort is a signal that the run's workflow acts on; a workflow that can't (no worker polls its
queue, or its task fails on every attempt) would keep the run, its capacity and its processes for
good. A run still active this long after its first abort is ended from outside: its workflow is
terminated, its projection finished, its capacity released; the hosts' sweeps of orphaned jobs
(worker/orphaned_jobs.py) then kill its processes, since their instances are released.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.services.periodic import every
from core.statuses import RunTerminationReason
from store.capacity import Capacity
from store.models import RunModel
from store.runs import RunStore

log = structlog.get_logger(__name__)

SWEEP_EVERY_SECONDS = 5.0
TERMINATE_TIMEOUT = timedelta(seconds=10)


class OverdueAborts:
    def __init__(self, runs: RunStore, capacity: Capacity, client: Client, deadline: timedelta) -> None:
        self._runs = runs
        self._capacity = capacity
        self._client = client
        self._deadline = deadline

    async def sweep(self) -> int:
        """Ends every run whose abort is overdue; returns how many were."""
        rows = await self._runs.aborted_before(datetime.now(UTC) - self._deadline)
        return sum([await self._end(row) for row in rows])

    async def _end(self, row: RunModel) -> bool:
        message = (f"the abort was not carried out within {self._deadline.total_seconds():g}s; "
                   "the run's workflow was terminated")
        try:
            await self._client.get_workflow_handle(row.workflow_id).terminate(
                reason=message, rpc_timeout=TERMINATE_TIMEOUT)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it has already closed
                log.warning("could not terminate an overdue abort's workflow; the next sweep tries again",
                            run_id=row.id, run_name=row.run_name, error=str(error))
                return False
        if not await self._runs.force_finish(row, RunTerminationReason.ABORTED_BY_USER, message):
            return False  # its workflow finished it first
        await self._capacity.release_run(row.id)
        log.warning("run ended without its workflow after an overdue abort", run_id=row.id, run_name=row.run_name)
        return True

    async def sweep_forever(self) -> None:
        await every(SWEEP_EVERY_SECONDS, self.sweep, "sweep for overdue aborts failed")
