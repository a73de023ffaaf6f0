"""Log lines per job submission, unique by byte offset so a retried batch is stored once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.database import Database
from store.models import LogLineModel

# A line's place in one replica's output: (submission_num, offset). Lines are keyed, and paged, by it.
Position = tuple[int, int]
_REPLICAS_PER_STATEMENT = 100


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
                   after: Position | None = None, before: Position | None = None, descending: bool = False,
                   limit: int = 1000) -> list[tuple[int, LogLine]]:
        """Lines of one replica between two (submission, offset) positions, both excluded, in order
        of (submission, offset), or newest first when `descending`."""
        query = _page_of(run_id, replica_num, submission_num, after, before, descending, limit)
        async with self._db.read() as session:
            rows = (await session.execute(query)).scalars()
            return [(row.submission_num, _line(row)) for row in rows]

    async def pages(self, run_id: str, ranges: Mapping[int, tuple[Position | None, Position | None]], *,
                    descending: bool, limit: int) -> dict[int, list[tuple[int, LogLine]]]:
        """A page of each replica's lines at once: up to `limit` lines of each replica between its
        (after, before) positions. One statement per 100 replicas (SQLite allows 500 parts in a
        compound select), each part an indexed range of one replica."""
        found: dict[int, list[tuple[int, LogLine]]] = {replica: [] for replica in ranges}
        replicas = sorted(ranges)
        async with self._db.read() as session:
            for start in range(0, len(replicas), _REPLICAS_PER_STATEMENT):
                parts = []
                for replica in replicas[start:start + _REPLICAS_PER_STATEMENT]:
                    after, before = ranges[replica]
                    part = _page_of(run_id, replica, None, after, before, descending, limit)
                    parts.append(select(part.subquery()))
                statement = parts[0] if len(parts) == 1 else union_all(*parts)
                for row in (await session.execute(statement)).mappings():
                    found[row["replica_num"]].append((row["submission_num"], _line(row)))
        for lines in found.values():  # a compound select keeps no order of its own
            lines.sort(key=lambda item: (item[0], item[1].offset), reverse=descending)
        return found

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


def _page_of(run_id: str, replica_num: int, submission_num: int | None, after: Position | None,
             before: Position | None, descending: bool, limit: int) -> Select[Any]:
    """Up to `limit` lines of one replica (of one submission, when given) between two positions,
    both excluded, in order of (submission, offset) or newest first."""
    query = select(LogLineModel).where(LogLineModel.run_id == run_id, LogLineModel.replica_num == replica_num)
    if submission_num is not None:
        query = query.where(LogLineModel.submission_num == submission_num)
    if after is not None:
        query = query.where(
            (LogLineModel.submission_num > after[0])
            | ((LogLineModel.submission_num == after[0]) & (LogLineModel.offset > after[1])))
    if before is not None:
        query = query.where(
            (LogLineModel.submission_num < before[0])
            | ((LogLineModel.submission_num == before[0]) & (LogLineModel.offset < before[1])))
    return query.order_by(*_order(descending)).limit(limit)


def _order(descending: bool) -> tuple[Any, ...]:
    if descending:
        return LogLineModel.submission_num.desc(), LogLineModel.offset.desc()
    return LogLineModel.submission_num, LogLineModel.offset


def _line(row: Any) -> LogLine:
    """A LogLine of a row: a model, or a mapping of a compound select's columns."""
    if isinstance(row, LogLineModel):
        return LogLine(row.offset, row.timestamp, row.stream, row.message)
    return LogLine(row["offset"], row["timestamp"], row["stream"], row["message"])
