"""Runs whose workflow never started.

`apply` writes a run's row (which reserves its name among active runs) and then starts its
workflow. An API process that dies between the two leaves an active row that no workflow will ever
write: it lists as `submitted` and its name answers 409. Once such a row is older than any start
could take and Temporal has no workflow for it, it is marked failed, freeing the name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.services.periodic import every
from store.models import RunModel
from store.runs import RunStore

log = structlog.get_logger(__name__)

# A start is one RPC with a 10 s timeout (api/services/run_messages.py): a row this old without a
# workflow will not get one.
ORPHAN_AFTER = timedelta(seconds=60)
SWEEP_EVERY_SECONDS = 60.0
DESCRIBE_TIMEOUT = timedelta(seconds=10)
MESSAGE = "the API stopped before the run's workflow started"


class OrphanedRuns:
    def __init__(self, runs: RunStore, client: Client) -> None:
        self._runs = runs
        self._client = client

    async def fail_if_orphaned(self, row: RunModel) -> bool:
        """Marks the run failed if its workflow never started; True if it did."""
        if not row.active or row.version > 0 or datetime.now(UTC) - row.submitted_at < ORPHAN_AFTER:
            return False
        try:
            await self._client.get_workflow_handle(row.workflow_id).describe(rpc_timeout=DESCRIBE_TIMEOUT)
            return False
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                return False  # Temporal can't say now; the next look asks again
        await self._runs.mark_failed_to_start(row.id, MESSAGE)
        log.warning("run without a workflow marked failed", run_id=row.id, run_name=row.run_name)
        return True

    async def sweep(self) -> int:
        """Marks every orphaned run failed; returns how many were."""
        rows = await self._runs.unstarted(submitted_before=datetime.now(UTC) - ORPHAN_AFTER)
        return sum([await self.fail_if_orphaned(row) for row in rows])

    async def sweep_forever(self) -> None:
        await every(SWEEP_EVERY_SECONDS, self.sweep, "sweep for runs without a workflow failed")
