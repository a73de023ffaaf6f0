"""Allocating and releasing host capacity (any worker; touches only the database)."""

from __future__ import annotations

import structlog
from temporalio import activity

from activities import names
from core.jobs import ProvisionRequest, ProvisionResult, ReleaseRequest
from store.capacity import Capacity

log = structlog.get_logger(__name__)

# Releases in this process wake waiters at once; this bounds the wait for releases elsewhere.
WAIT_POLL_SECONDS = 1.0


class CapacityActivities:
    def __init__(self, capacity: Capacity) -> None:
        self._capacity = capacity

    @activity.defn(name=names.PROVISION_INSTANCE)
    async def provision_instance(self, request: ProvisionRequest) -> ProvisionResult:
        result = await self._capacity.allocate(request)
        if result.instance is not None:
            log.info("instance allocated", run_id=request.run_id, submission_id=request.submission_id,
                     host=result.instance.host_name)
        return result

    @activity.defn(name=names.WAIT_FOR_INSTANCE)
    async def wait_for_instance(self, request: ProvisionRequest) -> ProvisionResult:
        """Allocates as soon as capacity frees: one long activity instead of a timer loop in
        the workflow, so a long wait doesn't grow the run's history. A stopped run cancels it
        through the heartbeat and releases the submission; the release alone also ends it,
        within a poll, should the cancel never arrive."""
        while True:
            if await self._capacity.worth_allocating(request):
                result = await self._capacity.allocate(request)
                if result.instance is not None or not result.can_ever_fit or result.released:
                    return result
            activity.heartbeat()
            await self._capacity.wait_for_room(request, WAIT_POLL_SECONDS)

    @activity.defn(name=names.RELEASE_INSTANCE)
    async def release_instance(self, request: ReleaseRequest) -> None:
        await self._capacity.release(request.submission_id, request.run_id)
