"""Requests per service run, counted by this API process's proxy.

`count` is called for every proxied request, so it only adds to a dict in memory; every
FLUSH_EVERY_SECONDS the counts go to the database in one statement, per second and under this
process's id, so that the autoscaler sums what every API process saw (store/traffic.py).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import structlog

from api.services.periodic import every
from store.traffic import TrafficStore

log = structlog.get_logger(__name__)

FLUSH_EVERY_SECONDS = 1.0
# Counts that can't be written (the database is away) are kept for the next flush, but not older
# than the longest window: the autoscaler would never read them.
KEEP_UNFLUSHED_SECONDS = 3600


class TrafficCounter:
    def __init__(self, store: TrafficStore, process_id: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.process_id = process_id or str(uuid.uuid4())
        self._clock = clock
        self._pending: defaultdict[tuple[str, int], int] = defaultdict(int)

    def count(self, run_id: str) -> None:
        """One request to the service run `run_id`."""
        self._pending[(run_id, int(self._clock()))] += 1

    async def flush(self) -> int:
        """Writes what was counted since the last flush; returns how many requests."""
        pending, self._pending = self._pending, defaultdict(int)
        try:
            await self._store.add(self.process_id, pending)
        except BaseException:
            oldest = int(self._clock()) - KEEP_UNFLUSHED_SECONDS
            for key, requests in pending.items():
                if key[1] >= oldest:
                    self._pending[key] += requests
            raise
        return sum(pending.values())

    async def flush_forever(self) -> None:
        await every(FLUSH_EVERY_SECONDS, self.flush, "request counts could not be written; kept for the next flush",
                    process_id=self.process_id)
