"""Log pages and live follows, per replica."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from api.auth import ProjectAccess
from api.errors import ApiError
from api.fields import LOG_TOKEN_PATTERN
from api.schemas import JobLogs, LogEvent
from api.services.lookup import find_run
from store.logs import LogStore
from store.models import RunModel
from store.runs import RunStore

# A follower sleeps until lines arrive in this process; this bounds how late it notices lines
# written by another process, or the end of the run.
FOLLOW_IDLE_SECONDS = 1.0


def encode_token(submission_num: int, offset: int) -> str:
    return f"{submission_num}:{offset}"


def decode_token(token: str) -> tuple[int, int]:
    """The (submission, offset) cursor; the pattern keeps both within their database columns."""
    if re.fullmatch(LOG_TOKEN_PATTERN, token) is None:
        raise ApiError(400, "next_token: not a token returned by logs/poll", "next_token")
    submission, offset = token.split(":")
    return int(submission), int(offset)


class LogService:
    def __init__(self, logs: LogStore, runs: RunStore) -> None:
        self._logs = logs
        self._runs = runs

    async def find_run(self, access: ProjectAccess, run_name: str | None, run_id: str | None) -> RunModel:
        return await find_run(self._runs, access, run_name=run_name, run_id=run_id)

    async def poll(self, run: RunModel, replica_num: int, submission_num: int | None, after: tuple[int, int] | None,
                   limit: int) -> JobLogs:
        """A page of lines after the (submission, offset) cursor `after` (decode_token)."""
        page = await self._logs.page(run.id, replica_num, submission_num=submission_num, after=after, limit=limit)
        events = [LogEvent(timestamp=line.timestamp, log_source=line.stream,
                           message=line.message, submission_num=num, offset=line.offset) for num, line in page]
        last = (page[-1][0], page[-1][1].offset) if page else after
        return JobLogs(logs=events, next_token=encode_token(*last) if last else None)

    async def follow(self, run: RunModel, replica_num: int, submission_num: int | None,
                     after: tuple[int, int] | None) -> AsyncIterator[LogEvent]:
        """Every line from the start (or after the cursor) on, then new lines as they come, until
        the run has finished and every line has been sent."""
        while True:
            page = await self._logs.page(run.id, replica_num, submission_num=submission_num, after=after)
            for num, line in page:
                yield LogEvent(timestamp=line.timestamp, log_source=line.stream,
                               message=line.message, submission_num=num, offset=line.offset)
            if page:
                after = (page[-1][0], page[-1][1].offset)
                continue
            current = await self._runs.by_id(run.project_id, run.id)
            if current is None or not current.active:
                # The final projection is written after the last watcher shipped its lines,
                # but look once more in case lines landed between the page and this read.
                tail = await self._logs.page(run.id, replica_num, submission_num=submission_num, after=after)
                for num, line in tail:
                    yield LogEvent(timestamp=line.timestamp, log_source=line.stream,
                                   message=line.message, submission_num=num, offset=line.offset)
                return
            await self._logs.wait_for_lines(run.id, FOLLOW_IDLE_SECONDS)
