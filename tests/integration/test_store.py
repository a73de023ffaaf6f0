"""The database layer on SQLite and PostgreSQL: no oversubscription, no going backwards,
no duplicated log lines."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from backends.base import MetricsSample
from core.configuration import parse_configuration
from core.jobs import ProvisionRequest
from core.run_state import RunState
from core.statuses import RunStatus, RunTerminationReason
from store.accounts import DEFAULT_PROJECT, Accounts
from store.capacity import Capacity
from store.database import Database
from store.logs import LogLine, LogStore, SubmissionRef
from store.metrics import MetricsStore
from store.migrate import upgrade_database
from store.models import ProjectModel, UserModel
from store.runs import ActiveRunExists, NewRun, RunCursor, RunFilters, RunStore
from tests.support.hosts import join_host

pytestmark = pytest.mark.integration
NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_concurrent_allocations_never_oversubscribe_a_host(database: Database) -> None:
    capacity = Capacity(database)
    await join_host(database, "h1", cpu_milli=4000, memory_mb=4096, price_per_hour=1.5)
    requests = [ProvisionRequest(submission_id=str(uuid.uuid4()), run_id="r", cpu_milli=1000, memory_mb=512)
                for _ in range(20)]
    results = await asyncio.gather(*(capacity.allocate(request) for request in requests))
    granted = [result for result in results if result.instance is not None]
    assert len(granted) == 4
    assert all("waiting for capacity" in r.reason for r in results if r.instance is None)
    assert await capacity.allocated("h1") == (4000, 2048)
    # Idempotent per submission: asking again returns the same instance.
    again = await capacity.allocate(requests[results.index(granted[0])])
    assert again.instance == granted[0].instance
    await capacity.release(granted[0].instance.submission_id)  # type: ignore[union-attr]
    assert await capacity.allocated("h1") == (3000, 1536)
    # A released submission never gets an instance again.
    assert (await capacity.allocate(requests[results.index(granted[0])])).instance is None


async def test_a_submission_released_before_it_is_allocated_never_holds_capacity(database: Database) -> None:
    """A stopped run releases its submission while its capacity waiter may still allocate:
    whichever commits first, nothing stays allocated."""
    capacity = Capacity(database)
    await join_host(database, "h1", cpu_milli=4000, memory_mb=4096, price_per_hour=0)
    early = ProvisionRequest(submission_id=str(uuid.uuid4()), run_id="r", cpu_milli=1000, memory_mb=512)
    await capacity.release(early.submission_id, early.run_id)
    await capacity.release(early.submission_id, early.run_id)  # idempotent
    assert await capacity.worth_allocating(early)  # so a waiter asks, and learns it was released
    refused = await capacity.allocate(early)
    assert (refused.instance, refused.released) == (None, True)

    racing = [ProvisionRequest(submission_id=str(uuid.uuid4()), run_id="r", cpu_milli=100, memory_mb=64)
              for _ in range(30)]
    async def allocate_and_release(request: ProvisionRequest) -> None:
        allocation, _ = await asyncio.gather(capacity.allocate(request),
                                             capacity.release(request.submission_id, request.run_id))
        assert allocation.instance is not None or allocation.released

    await asyncio.gather(*(allocate_and_release(request) for request in racing))
    assert await capacity.allocated("h1") == (0, 0)
    assert [(await capacity.allocate(request)).released for request in racing] == [True] * len(racing)


async def test_a_request_no_host_can_hold_is_reported_as_never_fitting(database: Database) -> None:
    capacity = Capacity(database)
    await join_host(database, "h1", cpu_milli=2000, memory_mb=1024, price_per_hour=0)
    result = await capacity.allocate(ProvisionRequest(submission_id="s", run_id="r", cpu_milli=4000, memory_mb=1))
    assert (result.instance, result.can_ever_fit) == (None, False)
    assert "no host can ever fit 4 CPU" in result.reason


async def _project_and_user(database: Database) -> tuple[str, str]:
    async with database.read() as session:
        project = (await session.execute(select(ProjectModel).where(ProjectModel.name == DEFAULT_PROJECT))).scalar_one()
        user = (await session.execute(select(UserModel))).scalars().first()
        assert user is not None
        return project.id, user.id


async def test_projection_writes_never_go_backwards(database: Database) -> None:
    runs = RunStore(database)
    project_id, user_id = await _project_and_user(database)
    configuration = parse_configuration({"type": "task", "commands": ["true"]})
    run = NewRun(id=str(uuid.uuid4()), project_id=project_id, user_id=user_id, run_name="proj", workflow_id="w",
                 desired_replicas=1, configuration=configuration.model_dump(mode="json", by_alias=True),
                 submitted_at=NOW)
    await runs.create(run)
    with pytest.raises(ActiveRunExists):
        await runs.create(NewRun(**{**run.__dict__, "id": str(uuid.uuid4())}))

    state = RunState(run_id=run.id, run_name="proj", project="main", user="admin", workflow_id="w",
                     configuration=configuration, desired_replicas=1, submitted_at=NOW)
    running = state.model_copy(deep=True)
    running.set_run_status(RunStatus.RUNNING, NOW)
    finished = running.model_copy(deep=True)
    finished.finish_run(RunTerminationReason.ALL_JOBS_DONE, NOW)

    assert await runs.write_projection(finished, cost=1.0)
    assert not await runs.write_projection(running, cost=0.5)  # late, older write
    assert not await runs.write_projection(finished, cost=1.0)  # retried write
    row = await runs.by_id(project_id, run.id)
    assert row is not None
    assert (row.status, row.version, row.active, row.cost) == ("done", finished.version, False, 1.0)
    assert RunState.model_validate(row.state) == finished  # the JSON columns round-trip
    assert row.configuration == configuration.model_dump(mode="json", by_alias=True)
    # The name is free again once the run finished.
    await runs.create(NewRun(**{**run.__dict__, "id": str(uuid.uuid4())}))


async def test_log_lines_are_stored_once_and_paged_in_order(database: Database) -> None:
    logs = LogStore(database)
    ref = SubmissionRef(submission_id="s", run_id="r", replica_num=0, submission_num=0)
    lines = [LogLine(offset=i * 10, timestamp=NOW, stream="stdout", message=f"line {i}") for i in range(50)]
    await logs.append(ref, lines[:30])
    await logs.append(ref, lines[20:])  # a retried batch overlaps the first
    later = SubmissionRef(submission_id="t", run_id="r", replica_num=0, submission_num=1)
    await logs.append(later, [LogLine(offset=0, timestamp=NOW, stream="stderr", message="retry")])
    page = await logs.page("r", 0, limit=1000)
    assert [line.message for _, line in page] == [f"line {i}" for i in range(50)] + ["retry"]
    after = await logs.page("r", 0, after=(0, 480))
    assert [(num, line.message) for num, line in after] == [(0, "line 49"), (1, "retry")]


async def test_metrics_series_per_replica_and_latest_per_submission(database: Database) -> None:
    metrics = MetricsStore(database)

    def samples(count: int, start: int, cpu: float) -> list[MetricsSample]:
        return [MetricsSample(timestamp=NOW + timedelta(seconds=5 * (start + i)), cpu_percent=cpu + i,
                              memory_bytes=1000 * (start + i)) for i in range(count)]

    first = SubmissionRef(submission_id="s0", run_id="r", replica_num=0, submission_num=0)
    retried = SubmissionRef(submission_id="s1", run_id="r", replica_num=0, submission_num=1)
    other = SubmissionRef(submission_id="t0", run_id="r", replica_num=1, submission_num=0)
    elsewhere = SubmissionRef(submission_id="x", run_id="another", replica_num=0, submission_num=0)
    # Rounds as the host sampler writes them: one insert holds several replicas.
    for round_num in range(3):
        await metrics.append_round([(first, samples(3, 0, 10.0)[round_num])]
                                   + ([(other, samples(1, 0, 99.0)[0])] if round_num == 0 else []))
    await metrics.append_round([(retried, sample) for sample in samples(2, 3, 50.0)])
    await metrics.append_round([])
    await metrics.append_round([(elsewhere, samples(1, 10, 1.0)[0])])

    # Every submission of the replica, oldest first; `limit` keeps the newest.
    series = await metrics.series("r", 0, limit=100)
    assert [s.memory_bytes for s in series] == [0, 1000, 2000, 3000, 4000]
    assert series[0].timestamp == NOW
    assert [s.memory_bytes for s in await metrics.series("r", 0, limit=2)] == [3000, 4000]
    assert [s.memory_bytes for s in await metrics.series("r", 0, after=NOW + timedelta(seconds=10))] == [3000, 4000]
    assert await metrics.series("r", 2) == []

    latest = await metrics.latest_per_submission("r", {"s0": 0, "s1": 0, "t0": 1, "never-sampled": 2})
    assert {key: (s.cpu_percent, s.memory_bytes) for key, s in latest.items()} == {
        "s0": (12.0, 2000), "s1": (51.0, 4000), "t0": (99.0, 0)}
    assert latest["s1"].timestamp == NOW + timedelta(seconds=20)
    assert await metrics.latest_per_submission("r", {}) == {}

    # Retention: samples before the cutoff go, the rest stay.
    assert await metrics.delete_older_than(NOW + timedelta(seconds=10)) == 3  # s0 at 0 and 5 s, t0 at 0 s
    assert [s.memory_bytes for s in await metrics.series("r", 0)] == [2000, 3000, 4000]
    assert await metrics.series("r", 1) == []
    assert [s.memory_bytes for s in await metrics.series("another", 0)] == [10000]
    assert await metrics.delete_older_than(NOW) == 0


async def seed_runs_sharing_timestamps(url: str) -> None:
    """60 runs over 5 timestamps (so most share theirs), some finished, some of those deleted."""
    database = Database(url)
    try:
        await upgrade_database(database)
        await Accounts(database).bootstrap("token")
        async with database.read() as session:
            project_id = (await session.execute(select(ProjectModel.id))).scalar_one()
            user_id = (await session.execute(select(UserModel.id))).scalar_one()
        runs = RunStore(database)
        configuration = parse_configuration({"type": "task", "commands": ["true"]})
        for i in range(60):
            run = NewRun(id=str(uuid.uuid4()), project_id=project_id, user_id=user_id, run_name=f"page-{i}",
                         workflow_id=f"w{i}", desired_replicas=1,
                         configuration=configuration.model_dump(mode="json", by_alias=True),
                         submitted_at=NOW + timedelta(seconds=i % 5))
            await runs.create(run)
            if i % 3:
                await runs.mark_failed_to_start(run.id, "finished for the test")
            if i % 4 == 1:
                await runs.mark_deleted([run.id])
    finally:
        await database.dispose()


async def page_through(url: str, filters: RunFilters, limit: int) -> tuple[list[str], list[str]]:
    """Every run the filters match in one call, and the same runs as pages of `limit`."""
    database = Database(url)
    try:
        runs = RunStore(database)
        everything = [run.row.id for run in await runs.list_runs(filters, limit=1000)]
        paged: list[str] = []
        after = None
        while True:
            page = await runs.list_runs(filters, limit=limit, after=after)
            paged += [run.row.id for run in page]
            if len(page) < limit:
                return everything, paged
            after = RunCursor(page[-1].row.submitted_at, page[-1].row.id)
    finally:
        await database.dispose()


@pytest.fixture
def seeded_url(new_database_url: Callable[[], str]) -> str:
    url = new_database_url()
    asyncio.run(seed_runs_sharing_timestamps(url))
    return url


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=13), only_active=st.booleans(), include_deleted=st.booleans())
def test_keyset_pages_never_skip_or_repeat_runs_that_share_a_timestamp(
        seeded_url: str, limit: int, only_active: bool, include_deleted: bool) -> None:
    filters = RunFilters(project_ids=None, only_active=only_active, include_deleted=include_deleted)
    everything, paged = asyncio.run(page_through(seeded_url, filters, limit))
    assert paged == everything
    assert len(set(paged)) == len(paged)
    expected = 20 if only_active else (60 if include_deleted else 50)
    assert len(everything) == expected
