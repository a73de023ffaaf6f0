"""Log pages (of one replica, or of every replica merged in time order), live follows and
downloads."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

from api.auth import ProjectAccess
from api.schemas import JobLogs, LogEvent
from api.services.log_cursors import Boundaries, encode_boundaries, encode_token
from api.services.log_merge import MergedLine, ReplicaPage, merge_pages
from api.services.lookup import find_run
from store.logs import LogLine, LogStore, Position
from store.models import RunModel
from store.runs import RunStore

# A follower sleeps until lines arrive in this process; this bounds how late it notices lines
# written by another process, or the end of the run.
FOLLOW_IDLE_SECONDS = 1.0
# A merged page reads this many lines of each replica at least, so that many replicas each make
# a page of useful size, and at most `limit` (see _per_replica).
MIN_LINES_PER_REPLICA = 50
DOWNLOAD_PAGE = 5000


def _event(replica_num: int, submission_num: int, line: LogLine) -> LogEvent:
    return LogEvent(timestamp=line.timestamp, log_source=line.stream, message=line.message,
                    replica_num=replica_num, submission_num=submission_num, offset=line.offset)


def _position(entry: tuple[int, LogLine]) -> Position:
    """Where a paged line (submission_num, line) stands in its replica's output."""
    submission_num, line = entry
    return submission_num, line.offset


def _per_replica(limit: int, replicas: int) -> int:
    return max(min(limit, MIN_LINES_PER_REPLICA), math.ceil(limit / max(replicas, 1)))


def replica_nums(run: RunModel) -> list[int]:
    """The run's replicas as its projection knows them. A run that continued as new keeps every
    replica in its state (each with its latest submission), so this is all of them."""
    return sorted({int(replica["replica_num"]) for replica in (run.state or {}).get("replicas", [])})


class LogService:
    def __init__(self, logs: LogStore, runs: RunStore) -> None:
        self._logs = logs
        self._runs = runs

    async def find_run(self, access: ProjectAccess, run_name: str | None, run_id: str | None) -> RunModel:
        return await find_run(self._runs, access, run_name=run_name, run_id=run_id)

    async def poll(self, run: RunModel, replica_num: int, submission_num: int | None, token: Position | None,
                   limit: int, descending: bool = False) -> JobLogs:
        """A page of one replica's lines after the line `token` names, or, `descending`, before it
        (from the newest line without a token), newest first."""
        if descending:
            page = await self._logs.page(run.id, replica_num, submission_num=submission_num, before=token,
                                         descending=True, limit=limit)
            earlier = _position(page[-1]) if len(page) == limit else None
            newest = _position(page[0]) if page and token is None else None
            return JobLogs(logs=[_event(replica_num, num, line) for num, line in page],
                           next_token=encode_token(*earlier) if earlier else None,
                           follow_token=encode_token(*newest) if newest else None)
        page = await self._logs.page(run.id, replica_num, submission_num=submission_num, after=token, limit=limit)
        last = _position(page[-1]) if page else token
        return JobLogs(logs=[_event(replica_num, num, line) for num, line in page],
                       next_token=encode_token(*last) if last else None, follow_token=None)

    async def poll_all_replicas(self, run: RunModel, boundaries: Boundaries | None, limit: int,
                                descending: bool = False) -> JobLogs:
        """A page of every replica's lines in time order, from the token's boundaries (see
        api/services/log_cursors.py) forwards, or backwards when `descending`."""
        if descending:
            merged, earlier, follow = await self._merged_backwards(run, boundaries, limit)
            return JobLogs(logs=[_event(m.replica_num, m.submission_num, m.line) for m in merged],
                           next_token=encode_boundaries(earlier) if earlier else None,
                           follow_token=encode_boundaries(follow) if follow is not None else None)
        merged, later = await self._merged_forwards(run, boundaries or {}, limit)
        return JobLogs(logs=[_event(m.replica_num, m.submission_num, m.line) for m in merged],
                       next_token=encode_boundaries(later), follow_token=None)

    async def _merged_forwards(self, run: RunModel, boundaries: Boundaries,
                               limit: int) -> tuple[list[MergedLine], Boundaries]:
        replicas = sorted(set(replica_nums(run)) | set(boundaries))
        per_replica = _per_replica(limit, len(replicas))
        # A boundary (s, o) reads the lines at or after it: after (s, o - 1).
        ranges = {replica: ((boundaries[replica][0], boundaries[replica][1] - 1) if replica in boundaries else None,
                            None) for replica in replicas}
        found = await self._logs.pages(run.id, ranges, descending=False, limit=per_replica)
        merged = merge_pages({replica: ReplicaPage(lines, len(lines) == per_replica)
                              for replica, lines in found.items()}, limit, descending=False)
        later = dict(boundaries)
        for line in merged:
            later[line.replica_num] = (line.submission_num, line.line.offset + 1)
        return merged, later

    async def _merged_backwards(self, run: RunModel, boundaries: Boundaries | None,
                                limit: int) -> tuple[list[MergedLine], Boundaries, Boundaries | None]:
        """The page, the boundaries before it (empty once every replica's first line is in it)
        and, when read from the end, the boundaries after each replica's newest line (to follow)."""
        # Without a token every replica is read from its end; with one, only the replicas it names
        # (any other had no lines before its boundaries).
        replicas = sorted(boundaries) if boundaries is not None else replica_nums(run)
        per_replica = _per_replica(limit, len(replicas))
        ranges = {replica: (None, boundaries[replica] if boundaries is not None else None) for replica in replicas}
        found = await self._logs.pages(run.id, ranges, descending=True, limit=per_replica)
        pages = {replica: ReplicaPage(lines, len(lines) == per_replica) for replica, lines in found.items()}
        merged = merge_pages(pages, limit, descending=True)
        taken: dict[int, int] = {}
        oldest: Boundaries = {}
        for line in merged:
            taken[line.replica_num] = taken.get(line.replica_num, 0) + 1
            oldest[line.replica_num] = (line.submission_num, line.line.offset)
        earlier: Boundaries = {}
        for replica, page in pages.items():
            if not page.lines or (taken.get(replica, 0) == len(page.lines) and not page.full):
                continue  # its first line is on this page, or it has none: nothing of it is earlier
            if replica in oldest:
                earlier[replica] = oldest[replica]
            elif boundaries is not None:
                earlier[replica] = boundaries[replica]
            else:  # none of it on this page: all of its lines so far are earlier
                submission, newest = page.lines[0]
                earlier[replica] = (submission, newest.offset + 1)
        follow = None
        if boundaries is None:
            follow = {replica: (page.lines[0][0], page.lines[0][1].offset + 1)
                      for replica, page in pages.items() if page.lines}
        return merged, earlier, follow

    async def download(self, run: RunModel, replica_num: int | None, timestamps: bool) -> AsyncIterator[str]:
        """Every line stored so far, as text: one replica's, or every replica's in time order,
        each line labelled with its replica. Read a page at a time, so any size streams."""
        if replica_num is not None:
            after: Position | None = None
            while page := await self._logs.page(run.id, replica_num, after=after, limit=DOWNLOAD_PAGE):
                yield "".join(_text(line, None, timestamps) for _, line in page)
                after = _position(page[-1])
            return
        boundaries: Boundaries = {}
        while True:
            merged, boundaries = await self._merged_forwards(run, boundaries, DOWNLOAD_PAGE)
            if not merged:
                return
            yield "".join(_text(m.line, m.replica_num, timestamps) for m in merged)

    async def follow(self, run: RunModel, replica_num: int, submission_num: int | None,
                     after: tuple[int, int] | None) -> AsyncIterator[LogEvent]:
        """Every line from the start (or after the cursor) on, then new lines as they come, until
        the run has finished and every line has been sent."""
        while True:
            page = await self._logs.page(run.id, replica_num, submission_num=submission_num, after=after)
            for num, line in page:
                yield _event(replica_num, num, line)
            if page:
                after = _position(page[-1])
                continue
            current = await self._runs.by_id(run.project_id, run.id)
            if current is None or not current.active:
                # The final projection is written after the last watcher shipped its lines,
                # but look once more in case lines landed between the page and this read.
                tail = await self._logs.page(run.id, replica_num, submission_num=submission_num, after=after)
                for num, line in tail:
                    yield _event(replica_num, num, line)
                return
            await self._logs.wait_for_lines(run.id, FOLLOW_IDLE_SECONDS)


def _text(line: LogLine, replica_num: int | None, timestamps: bool) -> str:
    """A downloaded line: `2026-01-31T12:00:00.123Z [replica 1] message`, the prefixes when asked."""
    prefix = ""
    if timestamps:
        prefix += line.timestamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{line.timestamp.microsecond // 1000:03d}Z "
    if replica_num is not None:
        prefix += f"[replica {replica_num}] "
    return f"{prefix}{line.message}\n"
