"""Merging pages of several replicas' lines into one page in time order.

Each replica's page is in its own order (submission, offset); the merge takes lines from the
front of the pages by (timestamp, replica, submission, offset) and stops where it could be wrong:
after the last line of a page that was full, since that replica's next, unread line might come
before the other pages' next lines. So a merged page is always the true beginning of the merged
log from where the pages started, and no line is skipped even when clocks go backwards (each
replica's lines come out in their own order whatever their timestamps)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from store.logs import LogLine


@dataclass(frozen=True)
class ReplicaPage:
    lines: list[tuple[int, LogLine]]  # (submission_num, line), in the direction read
    full: bool  # it held as many lines as were asked for: more may follow it


@dataclass(frozen=True)
class MergedLine:
    replica_num: int
    submission_num: int
    line: LogLine


def merge_pages(pages: Mapping[int, ReplicaPage], limit: int, descending: bool) -> list[MergedLine]:
    """Up to `limit` lines of every page, in time order (newest first when `descending`)."""

    def stream(replica: int, page: ReplicaPage) -> Iterator[tuple[tuple[datetime, int, int, int], MergedLine, bool]]:
        for index, (submission, line) in enumerate(page.lines):
            last_of_full_page = page.full and index == len(page.lines) - 1
            yield ((line.timestamp, replica, submission, line.offset), MergedLine(replica, submission, line),
                   last_of_full_page)

    merged: list[MergedLine] = []
    streams = [stream(replica, page) for replica, page in sorted(pages.items())]
    for _, line, stop_after in heapq.merge(*streams, key=lambda item: item[0], reverse=descending):
        merged.append(line)
        if stop_after or len(merged) == limit:
            break
    return merged
