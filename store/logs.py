"""Log lines per job submission, unique by byte offset so a retried batch is stored once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.database import Database
from store.models import LogLineModel


@dataclass(frozen=True)
class LogLine:
    offset: int
    timestamp: datetime
    stream: str
    message: str


@dataclass(frozen=True)
class SubmissionRef:
    submission_id: str
    run_id: str
    replica_num: int
    submission_num: int


class LogStore:
    """Appends and pages log lines. Followers in this process wake on appends instead of
    polling; followers elsewhere fall back to a slow poll (see `wait_for_lines`)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def append(self, ref: SubmissionRef, lines: Sequence[LogLine]) -> None:
        if not lines:
            return
        rows = [{"submission_id": ref.submission_id, "run_id": ref.run_id, "replica_num": ref.replica_num,
                 "submission_num": ref.submission_num, "offset": line.offset, "timestamp": line.timestamp,
                 "stream": line.stream, "message": line.message} for line in lines]
        insert = sqlite_insert if self._db.is_sqlite else pg_insert
        statement = insert(LogLineModel).on_conflict_do_nothing(
            index_elements=["submission_id", "offset"])
        async with self._db.write() as session:
            await session.execute(statement, rows)
        for event in self._waiters.get(ref.run_id, ()):
            event.set()

    async def page(self, run_id: str, replica_num: int, *, submission_num: int | None = None,
                   after: tuple[int, int] | None = None, limit: int = 1000) -> list[tuple[int, LogLine]]:
        """Lines of one replica in order of (submission, offset), after a (submission, offset) cursor."""
        query = select(LogLineModel).where(LogLineModel.run_id == run_id, LogLineModel.replica_num == replica_num)
        if submission_num is not None:
            query = query.where(LogLineModel.submission_num == submission_num)
        if after is not None:
            query = query.where(
                (LogLineModel.submission_num > after[0])
                | ((LogLineModel.submission_num == after[0]) & (LogLineModel.offset > after[1])))
        query = query.order_by(LogLineModel.submission_num, LogLineModel.offset).limit(limit)
        async with self._db.read() as session:
            rows = (await session.execute(query)).scalars()
            return [(row.submission_num, LogLine(row.offset, row.timestamp, row.stream, row.message))
                    for row in rows]

    async def last_offset(self, submission_id: str) -> int:
        """Where a new watcher of the submission resumes: the offset of its last stored line
        (read again and dropped by the unique key), 0 when none is stored."""
        async with self._db.read() as session:
            offset = await session.scalar(
                select(func.max(LogLineModel.offset)).where(LogLineModel.submission_id == submission_id))
        return int(offset or 0)

    async def wait_for_lines(self, run_id: str, timeout: float) -> None:
        """Returns when lines of this run are appended in this process, or after `timeout`."""
        event = asyncio.Event()
        self._waiters[run_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters[run_id].discard(event)
            if not self._waiters[run_id]:
                del self._waiters[run_id]
