"""One CPU and memory sampler per host worker, for all the replicas it watches.

Sampling each replica from its own watcher meant one database write per replica every interval
(200 writes a second at 1,000 replicas) and a process-table scan per sample. Here one loop
samples every replica that is due, then stores the whole round with one insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import structlog

from backends.base import Compute
from store.logs import SubmissionRef
from store.metrics import MetricsStore

log = structlog.get_logger(__name__)

INTERVAL_SECONDS = 5.0
# The first sample waits this long: the CPU of a younger process can't be told yet.
FIRST_SAMPLE_SECONDS = 1.0
TICK_SECONDS = 0.5
# Samples older than this are deleted, looked for this often: a replica sampled every 5 s adds
# 17,280 rows a day, and `stats` shows the current replicas.
RETENTION = timedelta(hours=24)
PRUNE_EVERY_SECONDS = 600.0


class HostMetricsSampler:
    def __init__(self, compute: Compute, metrics: MetricsStore) -> None:
        self._compute = compute
        self._metrics = metrics
        self._due: dict[SubmissionRef, float] = {}  # replica → when its next sample is due
        self._watchers: Counter[SubmissionRef] = Counter()
        self._loop: asyncio.Task[None] | None = None
        self._pruned_at = -PRUNE_EVERY_SECONDS

    @contextlib.contextmanager
    def sampling(self, ref: SubmissionRef) -> Iterator[None]:
        """Samples the replica while the block runs (its watcher's lifetime). Two watchers of one
        replica may overlap for a moment (the run continued as new): it is sampled once, until the
        last of them ends."""
        self._watchers[ref] += 1
        self._due.setdefault(ref, time.monotonic() + FIRST_SAMPLE_SECONDS)
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run())
        try:
            yield
        finally:
            self._watchers[ref] -= 1
            if not self._watchers[ref]:
                del self._watchers[ref]
                self._due.pop(ref, None)

    async def _run(self) -> None:
        while self._due:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self._sample_due()
                await self._prune()
            except Exception as error:  # a lost round is not worth stopping the sampler for
                log.warning("metrics round not stored", error=str(error))

    async def _prune(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        deleted = await self._metrics.delete_older_than(datetime.now(UTC) - RETENTION)
        if deleted:
            log.info("old metrics samples deleted", samples=deleted, retention_hours=RETENTION.total_seconds() / 3600)

    async def _sample_due(self) -> None:
        now = time.monotonic()
        samples = []
        for ref, due_at in list(self._due.items()):
            if due_at > now:
                continue
            self._due[ref] = now + INTERVAL_SECONDS
            sample = self._compute.sample_metrics(ref.submission_id)
            if sample is not None:
                samples.append((ref, sample))
        await self._metrics.append_round(samples)
