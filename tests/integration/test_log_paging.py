"""Paging logs on SQLite and PostgreSQL: backwards as well as forwards, one replica or every
replica merged in time order, with no line lost or repeated while lines keep arriving."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.schemas import JobLogs
from api.services.log_cursors import decode_boundaries, decode_token
from api.services.logs import LogService
from store.database import Database
from store.logs import LogLine, LogStore, SubmissionRef
from store.models import RunModel
from store.runs import RunStore

pytestmark = pytest.mark.integration
START = datetime(2026, 1, 1, tzinfo=UTC)


def fake_run(replicas: list[int]) -> RunModel:
    """LogService reads only the run's id and the replicas its state names."""
    return RunModel(id=uuid.uuid4().hex[:24], state={"replicas": [{"replica_num": num} for num in replicas]})


async def write(logs: LogStore, run: RunModel, replica: int, submission: int, seconds: list[float],
                first_offset: int = 0) -> None:
    seconds = [float(second) for second in seconds]
    ref = SubmissionRef(f"{run.id}-{replica}-{submission}", run.id, replica, submission)
    await logs.append(ref, [LogLine(first_offset + i * 7, START + timedelta(seconds=second), "stdout",
                                    f"r{replica} s{submission} t{second}")
                            for i, second in enumerate(seconds)])


def messages(page: JobLogs) -> list[str]:
    return [line.message for line in page.logs]


async def test_one_replica_reads_backwards_page_by_page(database: Database) -> None:
    logs = LogStore(database)
    service = LogService(logs, RunStore(database))
    run = fake_run([0])
    await write(logs, run, 0, 0, [float(i) for i in range(25)])
    await write(logs, run, 0, 1, [float(i) for i in range(25, 32)])  # a retry's lines come after
    everything = messages(await service.poll(run, 0, None, None, 5000))
    assert len(everything) == 32

    newest = await service.poll(run, 0, None, None, 10, descending=True)
    assert messages(newest) == everything[-10:][::-1]
    assert newest.follow_token is not None and newest.next_token is not None
    read = messages(newest)[::-1]
    token: str | None = newest.next_token
    while token is not None:
        page = await service.poll(run, 0, None, decode_token(token), 10, descending=True)
        assert page.follow_token is None
        read = messages(page)[::-1] + read
        token = page.next_token
    assert read == everything

    # The follow token goes on after the newest line: only lines written since.
    await write(logs, run, 0, 1, [40.0], first_offset=1000)
    after = await service.poll(run, 0, None, decode_token(newest.follow_token), 10)
    assert messages(after) == ["r0 s1 t40.0"]


async def test_every_replica_merges_in_time_order_both_ways(database: Database) -> None:
    logs = LogStore(database)
    service = LogService(logs, RunStore(database))
    run = fake_run([0, 1, 2])
    await write(logs, run, 0, 0, [0, 3, 6, 9, 12, 15])
    await write(logs, run, 1, 0, [1, 4, 7])
    await write(logs, run, 1, 1, [10, 13, 16])  # replica 1 restarted
    await write(logs, run, 2, 0, [2, 5, 8, 11, 14, 17])
    expected = [f"r{(second % 3)} s{1 if second % 3 == 1 and second >= 10 else 0} t{float(second)}"
                for second in range(18)]

    forwards: list[str] = []
    token = None
    for _ in range(20):
        page = await service.poll_all_replicas(run, decode_boundaries(token) if token else None, 4)
        assert len(page.logs) <= 4
        forwards += messages(page)
        token = page.next_token
        if not page.logs:
            break
    assert forwards == expected
    assert {line.replica_num for line in page.logs} <= {0, 1, 2}

    newest = await service.poll_all_replicas(run, None, 4, descending=True)
    backwards = messages(newest)
    token = newest.next_token
    for _ in range(20):
        if token is None:
            break
        page = await service.poll_all_replicas(run, decode_boundaries(token), 4, descending=True)
        backwards += messages(page)
        token = page.next_token
    assert token is None, "the start of the log was never reached"
    assert backwards == expected[::-1]

    # Following on from the end: only what is written afterwards, whichever replica writes it.
    assert newest.follow_token is not None
    await write(logs, run, 2, 0, [30], first_offset=1000)
    await write(logs, run, 0, 0, [31], first_offset=1000)
    after = await service.poll_all_replicas(run, decode_boundaries(newest.follow_token), 10)
    assert messages(after) == ["r2 s0 t30.0", "r0 s0 t31.0"]


async def test_lines_arriving_late_from_one_replica_are_neither_lost_nor_repeated(database: Database) -> None:
    """Replicas ship their lines in batches: a reader that has gone past a replica's timestamps
    still gets the lines that replica ships later, once."""
    logs = LogStore(database)
    service = LogService(logs, RunStore(database))
    run = fake_run([0, 1])
    await write(logs, run, 0, 0, [0, 1, 2, 3])
    page = await service.poll_all_replicas(run, None, 100)
    assert messages(page) == ["r0 s0 t0.0", "r0 s0 t1.0", "r0 s0 t2.0", "r0 s0 t3.0"]
    await write(logs, run, 1, 0, [0.5, 2.5])  # older than what was read
    await write(logs, run, 0, 0, [4], first_offset=1000)
    later = await service.poll_all_replicas(run, decode_boundaries(page.next_token or ""), 100)
    assert messages(later) == ["r1 s0 t0.5", "r1 s0 t2.5", "r0 s0 t4.0"]
    again = await service.poll_all_replicas(run, decode_boundaries(later.next_token or ""), 100)
    assert again.logs == []


async def test_many_replicas_page_without_losing_lines(database: Database) -> None:
    """More replicas than a page has lines: each page reads a few of each, and stops where a
    replica it read only part of might come next."""
    logs = LogStore(database)
    service = LogService(logs, RunStore(database))
    replicas = list(range(150))
    run = fake_run(replicas)
    for replica in replicas:
        await write(logs, run, replica, 0, [replica % 7 + i * 10 for i in range(60)])
    read: list[tuple[int, int]] = []
    token = None
    while True:
        page = await service.poll_all_replicas(run, decode_boundaries(token) if token else None, 1000)
        if not page.logs:
            break
        read += [(line.replica_num, line.offset) for line in page.logs]
        token = page.next_token
    assert len(read) == len(set(read)) == 150 * 60
    times = [(START + timedelta(seconds=r % 7 + (o // 7) * 10), r) for r, o in read]
    assert times == sorted(times)


async def test_download_streams_every_line(database: Database) -> None:
    logs = LogStore(database)
    service = LogService(logs, RunStore(database))
    run = fake_run([0, 1])
    await write(logs, run, 0, 0, [float(i) for i in range(12_000)])
    await write(logs, run, 1, 0, [0.5])
    one = "".join([chunk async for chunk in service.download(run, 0, timestamps=False)]).splitlines()
    assert one == [f"r0 s0 t{float(i)}" for i in range(12_000)]
    both = "".join([chunk async for chunk in service.download(run, None, timestamps=True)]).splitlines()
    assert len(both) == 12_001
    assert both[:2] == ["2026-01-01T00:00:00.000Z [replica 0] r0 s0 t0.0",
                        "2026-01-01T00:00:00.500Z [replica 1] r1 s0 t0.5"]
