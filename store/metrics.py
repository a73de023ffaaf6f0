"""CPU and memory samples per job submission, read per replica, kept for a day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select

from backends.base import MetricsSample
from store.database import Database
from store.logs import SubmissionRef
from store.models import MetricsModel


class MetricsStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def append_round(self, samples: Sequence[tuple[SubmissionRef, MetricsSample]]) -> None:
        """Samples of many replicas, in one insert."""
        if not samples:
            return
        rows = [{"submission_id": ref.submission_id, "run_id": ref.run_id, "replica_num": ref.replica_num,
                 "submission_num": ref.submission_num, "timestamp": sample.timestamp,
                 "cpu_percent": sample.cpu_percent, "memory_bytes": sample.memory_bytes} for ref, sample in samples]
        async with self._db.write() as session:
            await session.execute(insert(MetricsModel), rows)

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Drops the samples taken before `cutoff`; returns how many."""
        async with self._db.write() as session:
            result = await session.execute(delete(MetricsModel).where(MetricsModel.timestamp < cutoff)
                                           .execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def latest_per_submission(self, run_id: str,
                                    submissions: Mapping[str, int]) -> dict[str, MetricsSample]:
        """The newest sample of each submission that has one. `submissions` maps each submission
        id to its replica number, so that every lookup walks the (run, replica, time) index
        backwards from the newest sample instead of reading the replica's whole history."""
        if not submissions:
            return {}
        newest = [
            select(MetricsModel.id)
            .where(MetricsModel.run_id == run_id, MetricsModel.replica_num == replica_num,
                   MetricsModel.submission_id == submission_id)
            .order_by(MetricsModel.timestamp.desc())
            .limit(1)
            .scalar_subquery()
            for submission_id, replica_num in submissions.items()
        ]
        async with self._db.read() as session:
            rows = (await session.execute(select(MetricsModel).where(MetricsModel.id.in_(newest)))).scalars()
            return {row.submission_id: _sample(row) for row in rows}

    async def series(self, run_id: str, replica_num: int, *, limit: int = 100,
                     after: datetime | None = None) -> list[MetricsSample]:
        """The latest `limit` samples of one replica (every submission of it), after `after` if
        given, oldest first."""
        query = select(MetricsModel).where(MetricsModel.run_id == run_id, MetricsModel.replica_num == replica_num)
        if after is not None:
            query = query.where(MetricsModel.timestamp > after)
        query = query.order_by(MetricsModel.timestamp.desc(), MetricsModel.id.desc()).limit(limit)
        async with self._db.read() as session:
            rows = list((await session.execute(query)).scalars())
        return [_sample(row) for row in reversed(rows)]


def _sample(row: MetricsModel) -> MetricsSample:
    return MetricsSample(timestamp=row.timestamp, cpu_percent=row.cpu_percent, memory_bytes=row.memory_bytes)
