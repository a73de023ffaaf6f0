"""Requests per service run, per API process and second (`service_traffic`): each API process adds
what its proxy counted, and the autoscaler reads sums over every process."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from sqlalchemy import Table, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.database import Database
from store.models import ServiceTrafficModel

_TRAFFIC = cast(Table, ServiceTrafficModel.__table__)


class TrafficStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, process_id: str, counts: Mapping[tuple[str, int], int]) -> None:
        """Adds `counts` ((run id, Unix second) → requests) to this process's rows, in one statement."""
        if not counts:
            return
        insert = sqlite_insert if self._db.is_sqlite else postgresql_insert
        statement = insert(_TRAFFIC)
        statement = statement.on_conflict_do_update(
            index_elements=["run_id", "bucket", "process_id"],
            set_={"requests": _TRAFFIC.c.requests + statement.excluded.requests})
        rows = [{"run_id": run_id, "bucket": bucket, "process_id": process_id, "requests": requests}
                for (run_id, bucket), requests in counts.items()]
        async with self._db.write() as session:
            await session.execute(statement, rows)

    async def requests(self, first_buckets: Mapping[str, int], end: int) -> dict[str, int]:
        """Requests of each run (run id → its first second) from its first second up to `end`
        (excluded), summed over every process. Runs without any are left out."""
        if not first_buckets:
            return {}
        by_start: dict[int, list[str]] = {}
        for run_id, start in first_buckets.items():
            by_start.setdefault(start, []).append(run_id)
        query = (select(_TRAFFIC.c.run_id, func.sum(_TRAFFIC.c.requests))
                 .where(_TRAFFIC.c.bucket < end,
                        or_(*(and_(_TRAFFIC.c.run_id.in_(ids), _TRAFFIC.c.bucket >= start)
                              for start, ids in by_start.items())))
                 .group_by(_TRAFFIC.c.run_id))
        async with self._db.read() as session:
            return {run_id: int(total) for run_id, total in (await session.execute(query)).all()}

    async def latest_buckets(self, run_ids: Iterable[str]) -> dict[str, int]:
        """The latest second in which each run had a request (pruning keeps it); runs without any
        are left out."""
        ids = list(run_ids)
        if not ids:
            return {}
        query = (select(_TRAFFIC.c.run_id, func.max(_TRAFFIC.c.bucket))
                 .where(_TRAFFIC.c.run_id.in_(ids)).group_by(_TRAFFIC.c.run_id))
        async with self._db.read() as session:
            return {run_id: int(bucket) for run_id, bucket in (await session.execute(query)).all()}

    async def prune(self, keep_since: int, forget_before: int) -> int:
        """Drops the seconds before `keep_since`, except each run's latest, and every second before
        `forget_before` (longer ago than any delay). Returns how many rows went."""
        latest = _TRAFFIC.alias("latest")
        run_latest = select(func.max(latest.c.bucket)).where(latest.c.run_id == _TRAFFIC.c.run_id).scalar_subquery()
        statement = delete(_TRAFFIC).where(or_(
            _TRAFFIC.c.bucket < forget_before,
            and_(_TRAFFIC.c.bucket < keep_since, _TRAFFIC.c.bucket < run_latest)))
        async with self._db.write() as session:
            result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]
