"""Run projections: written by the RunWorkflow (versioned, never backwards), read by lists."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from core.run_state import JobSubmission, RunState
from core.statuses import JobTerminationReason, RunStatus, RunTerminationReason
from store.database import Database
from store.models import JobSubmissionModel, RunModel, utcnow


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


_RUNS = cast(Table, RunModel.__table__)


@functools.cache
def _write_projection_statement(columns: tuple[str, ...]) -> Update:
    """Built and compiled once, on the table rather than the ORM entity: each stopped run writes
    its projection twice, and building the ORM update per write cost more than running it."""
    # A finished run is final: a late write of its workflow can't bring back a run that was ended
    # without it (api/services/overdue_aborts.py).
    return (update(_RUNS)
            .where(_RUNS.c.id == bindparam("p_run_id"), _RUNS.c.version < bindparam("p_version"),
                   _RUNS.c.active.is_(True))
            .values({column: bindparam(f"p_{column}") for column in columns}))


class ActiveRunExists(Exception):
    def __init__(self, run_name: str) -> None:
        super().__init__(f"run {run_name} is already active in this project")
        self.run_name = run_name


@dataclass(frozen=True)
class NewRun:
    id: str
    project_id: str
    user_id: str
    run_name: str
    workflow_id: str
    desired_replicas: int
    configuration: dict[str, Any]
    submitted_at: datetime
    configuration_yaml: str | None = None


@dataclass(frozen=True)
class RunFilters:
    project_ids: Sequence[str] | None  # None: every project
    user_id: str | None = None
    run_name: str | None = None  # exactly this name
    name_contains: str | None = None  # a piece of the name, ignoring case
    statuses: Sequence[RunStatus] | None = None  # any of these; none or empty: any status
    only_active: bool = False
    include_deleted: bool = True


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its own % and _ (and the escape) taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", f"{LIKE_ESCAPE}%").replace("_", f"{LIKE_ESCAPE}_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class ListedRun:
    row: RunModel  # without its `state`
    replicas: list[dict[str, Any]] | None  # the state's replicas; None before the first projection


@dataclass(frozen=True)
class RunCursor:
    submitted_at: datetime
    id: str


class RunStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, run: NewRun) -> None:
        """Reserve the name among active runs before the workflow starts."""
        row = RunModel(id=run.id, project_id=run.project_id, user_id=run.user_id, run_name=run.run_name,
                       workflow_id=run.workflow_id, status=RunStatus.SUBMITTED.value, active=True,
                       desired_replicas=run.desired_replicas, configuration=run.configuration,
                       configuration_yaml=run.configuration_yaml, submitted_at=run.submitted_at, version=0)
        try:
            async with self._db.write() as session:
                session.add(row)
        except IntegrityError:
            raise ActiveRunExists(run.run_name) from None

    async def set_configuration_yaml(self, run_id: str, text: str | None) -> None:
        """The YAML of a configuration an active run was updated to (in place or rolled out)."""
        async with self._db.write() as session:
            await session.execute(update(RunModel).where(RunModel.id == run_id).values(configuration_yaml=text))

    async def unstarted(self, submitted_before: datetime) -> list[RunModel]:
        """Active runs that no workflow has written yet (version 0), submitted before the time."""
        async with self._db.read() as session:
            return list((await session.execute(
                select(RunModel).where(RunModel.active.is_(True), RunModel.version == 0,
                                       RunModel.submitted_at < submitted_before))).scalars())

    async def mark_failed_to_start(self, run_id: str, message: str) -> None:
        async with self._db.write() as session:
            await session.execute(
                update(RunModel).where(RunModel.id == run_id, RunModel.version == 0)
                .values(status=RunStatus.FAILED.value, termination_reason="server_error", status_message=message,
                        active=False, finished_at=utcnow(), updated_at=utcnow()))

    async def write_projection(self, state: RunState, cost: float,
                               compacted: Sequence[JobSubmission] = ()) -> bool:
        """Idempotent upsert: applies only if newer than what is stored. True if it applied.
        `compacted`: submissions the state let go (it continues as new), stored a row each in
        the same transaction, so that no submission is ever in neither place."""
        values = {
            "status": state.status.value,
            "status_message": state.status_message,
            "termination_reason": state.termination_reason.value if state.termination_reason else None,
            "active": not state.status.is_finished,
            "desired_replicas": state.desired_replicas,
            "configuration": state.configuration.model_dump(mode="json", by_alias=True),
            "running_replicas": state.running_replicas(),
            "cost": cost,
            "state": state.model_dump(mode="json"),
            "version": state.version,
            "finished_at": state.finished_at,
            "updated_at": utcnow(),
        }
        async with self._db.write() as session:
            if compacted:
                insert = sqlite_insert if self._db.is_sqlite else postgresql_insert
                await session.execute(insert(JobSubmissionModel).on_conflict_do_nothing(index_elements=["id"]), [
                    {"id": s.id, "run_id": state.run_id, "replica_num": s.replica_num,
                     "submission_num": s.submission_num, "data": s.model_dump(mode="json")} for s in compacted])
            parameters = {"p_run_id": state.run_id, **{f"p_{key}": value for key, value in values.items()}}
            result = await session.execute(_write_projection_statement(tuple(values)), parameters)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def compacted_submissions(self, run_id: str) -> list[JobSubmission]:
        """The run's submissions that its state let go, by replica and number."""
        async with self._db.read() as session:
            rows = (await session.execute(
                select(JobSubmissionModel.data).where(JobSubmissionModel.run_id == run_id)
                .order_by(JobSubmissionModel.replica_num, JobSubmissionModel.submission_num))).scalars()
            return [JobSubmission.model_validate(data) for data in rows]

    async def request_abort(self, run_ids: Sequence[str]) -> None:
        """Records when each active run was first aborted (a later abort keeps the first time)."""
        if not run_ids:
            return
        async with self._db.write() as session:
            await session.execute(
                update(RunModel).where(RunModel.id.in_(list(run_ids)), RunModel.active.is_(True),
                                       RunModel.abort_requested_at.is_(None))
                .values(abort_requested_at=utcnow()))

    async def aborted_before(self, requested_before: datetime) -> list[RunModel]:
        """Active runs first aborted before the time."""
        async with self._db.read() as session:
            return list((await session.execute(
                select(RunModel).where(RunModel.active.is_(True), RunModel.abort_requested_at < requested_before)
            )).scalars())

    async def force_finish(self, row: RunModel, reason: RunTerminationReason, message: str) -> bool:
        """Ends a run that its workflow could not end (the workflow is gone): every submission
        still live is finished with the run. False if the run had finished meanwhile."""
        now = utcnow()
        values: dict[str, Any] = {
            "status": reason.to_run_status().value, "status_message": message, "termination_reason": reason.value,
            "active": False, "running_replicas": 0, "finished_at": now, "updated_at": now,
            "version": row.version + 1,
        }
        if row.state is not None:
            state = RunState.model_validate(row.state)
            job_reason = JobTerminationReason.ABORTED_BY_USER if reason == RunTerminationReason.ABORTED_BY_USER \
                else JobTerminationReason.TERMINATED_BY_SERVER
            for replica in state.replicas:
                for submission in replica.submissions:
                    state.finish_job(submission, job_reason, now, message=message)
            state.finish_run(reason, now, message)
            values |= {"state": state.model_dump(mode="json"), "cost": state.cost(now),
                       "version": max(row.version, state.version) + 1}
        async with self._db.write() as session:
            result = await session.execute(
                update(RunModel).where(RunModel.id == row.id, RunModel.active.is_(True)).values(values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_id(self, project_id: str, run_id: str) -> RunModel | None:
        async with self._db.read() as session:
            return (await session.execute(
                select(RunModel).where(RunModel.project_id == project_id, RunModel.id == run_id)
            )).scalar_one_or_none()

    async def latest_by_name(self, project_id: str, run_name: str) -> RunModel | None:
        """The active run of that name, else the newest finished one that is not deleted."""
        async with self._db.read() as session:
            return (await session.execute(
                select(RunModel)
                .where(RunModel.project_id == project_id, RunModel.run_name == run_name,
                       RunModel.deleted.is_(False))
                .order_by(RunModel.active.desc(), RunModel.submitted_at.desc(), RunModel.id.desc())
                .limit(1))).scalar_one_or_none()

    async def find(self, project_id: str, references: Sequence[str]) -> dict[str, RunModel]:
        """Reference → run, in one query. A reference is a run name (the run `latest_by_name`
        picks) or a run id (any run of the project)."""
        ids = [ref for ref in references if _looks_like_uuid(ref)]
        async with self._db.read() as session:
            rows = list((await session.execute(
                select(RunModel)
                .where(RunModel.project_id == project_id,
                       or_(and_(RunModel.run_name.in_(set(references)), RunModel.deleted.is_(False)),
                           RunModel.id.in_(ids)))
                .order_by(RunModel.active.asc(), RunModel.submitted_at.asc(), RunModel.id.asc())
            )).scalars())
        by_name: dict[str, RunModel] = {}
        for row in rows:  # later rows win: active last, newest last
            if not row.deleted:
                by_name[row.run_name] = row
        by_id = {row.id: row for row in rows}
        found = {ref: by_name.get(ref) or by_id.get(ref) for ref in references}
        return {ref: row for ref, row in found.items() if row is not None}

    async def list_runs(self, filters: RunFilters, *, limit: int = 100,
                        after: RunCursor | None = None) -> list[ListedRun]:
        """Newest first, keyset-paginated on (submitted_at, id): a page starts strictly after the
        cursor's run, so runs sharing a timestamp are neither skipped nor repeated. Of each run's
        stored state only its replicas are read (the database extracts them): decoding whole
        states, events included, was a fifth of a page's time."""
        page = select(RunModel.id)
        if filters.project_ids is not None:
            page = page.where(RunModel.project_id.in_(filters.project_ids))
        if filters.user_id is not None:
            page = page.where(RunModel.user_id == filters.user_id)
        if filters.run_name is not None:
            page = page.where(RunModel.run_name == filters.run_name)
        if filters.name_contains is not None:
            # ILIKE on PostgreSQL, lower() LIKE lower() on SQLite: either way, ignoring case.
            page = page.where(RunModel.run_name.ilike(contains_pattern(filters.name_contains), escape=LIKE_ESCAPE))
        if filters.statuses:
            page = page.where(RunModel.status.in_(sorted({status.value for status in filters.statuses})))
        if filters.only_active:
            page = page.where(RunModel.active.is_(True))
        if not filters.include_deleted:
            page = page.where(RunModel.deleted.is_(False))
        if after is not None:
            page = page.where(or_(
                RunModel.submitted_at < after.submitted_at,
                and_(RunModel.submitted_at == after.submitted_at, RunModel.id < after.id)))
        newest_first = (RunModel.submitted_at.desc(), RunModel.id.desc())
        ids = page.order_by(*newest_first).limit(limit).subquery()
        # The page's ids first, then the replicas of just those: a planner that sorts instead of
        # walking the index (fresh statistics) must not extract every run's replicas.
        query = (select(RunModel, RunModel.state["replicas"])
                 .options(defer(RunModel.state), defer(RunModel.configuration_yaml))
                 .join(ids, RunModel.id == ids.c.id).order_by(*newest_first))
        async with self._db.read() as session:
            return [ListedRun(row, replicas) for row, replicas in (await session.execute(query)).all()]

    async def finished_count(self, project_id: str, run_name: str) -> int:
        """How many finished runs, not deleted, used the name."""
        async with self._db.read() as session:
            return int((await session.execute(
                select(func.count()).select_from(RunModel)
                .where(RunModel.project_id == project_id, RunModel.run_name == run_name,
                       RunModel.active.is_(False), RunModel.deleted.is_(False)))).scalar_one())

    async def mark_deleted(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        async with self._db.write() as session:
            await session.execute(
                update(RunModel).where(RunModel.id.in_(list(run_ids)), RunModel.active.is_(False))
                .values(deleted=True, updated_at=utcnow()))

    async def mark_name_deleted(self, project_id: str, run_name: str, owner_id: str | None) -> None:
        """Every finished run of the name (only `owner_id`'s when given)."""
        query = update(RunModel).where(RunModel.project_id == project_id, RunModel.run_name == run_name,
                                       RunModel.active.is_(False), RunModel.deleted.is_(False))
        if owner_id is not None:
            query = query.where(RunModel.user_id == owner_id)
        async with self._db.write() as session:
            await session.execute(query.values(deleted=True, updated_at=utcnow()))
