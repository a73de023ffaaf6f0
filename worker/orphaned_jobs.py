"""Jobs on this host that no run holds any more.

A job's instance is released only after its process has exited, except when its run was ended
without its workflow (an overdue abort) or when a start landed after the workflow had given up on
it. Such a job would run, and cost, for good; each host worker stops its own every SWEEP_EVERY_SECONDS.
"""

from __future__ import annotations

import asyncio

import structlog

from backends.base import Compute
from store.capacity import Capacity

log = structlog.get_logger(__name__)

SWEEP_EVERY_SECONDS = 10.0


class OrphanedJobs:
    def __init__(self, compute: Compute, capacity: Capacity) -> None:
        self._compute = compute
        self._capacity = capacity

    async def sweep(self) -> list[str]:
        """Kills the live jobs whose instance was released; returns their submission ids."""
        live = await asyncio.to_thread(self._compute.live_jobs)
        orphaned = sorted(await self._capacity.released_submissions(live)) if live else []
        for submission_id in orphaned:
            log.warning("killing a job whose run no longer holds it", submission_id=submission_id)
            await self._compute.terminate_job(submission_id, abort=True, grace_seconds=0, heartbeat=lambda: None,
                                              signalled=lambda: None)
        return orphaned

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
            try:
                await self.sweep()
            except Exception:  # the database is away: the next sweep tries again
                log.warning("sweep for orphaned jobs failed", exc_info=True)
