"""Hosts and the slices of them (instances) allocated to job submissions."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.gpus import Gpu, choose_gpus, could_ever_fit
from core.jobs import Instance, ProvisionRequest, ProvisionResult
from core.statuses import HostState
from core.units import format_memory
from store.database import Database
from store.models import FleetModel, HostModel, InstanceModel, ProjectModel, utcnow


class Capacity:
    def __init__(self, database: Database) -> None:
        self._db = database
        # What releases in this process have freed, ever; waiters compare it with what they need.
        self._freed_cpu_milli = 0
        self._freed_memory_mb = 0
        self._freed = asyncio.Event()

    async def allocate(self, request: ProvisionRequest) -> ProvisionResult:
        """Allocate a slice of the host with the most free CPU; idempotent per submission, and
        refused once the submission was released.

        The check and the insert happen in one write transaction, and on PostgreSQL the
        candidate host rows are locked, so concurrent allocations never oversubscribe a host.
        A release that commits between the check and the insert wins through the unique
        submission id.
        """
        try:
            return await self._allocate(request)
        except IntegrityError:
            return await self._allocate(request)  # the row that won is there now

    async def _allocate(self, request: ProvisionRequest) -> ProvisionResult:
        async with self._db.write() as session:
            existing = (await session.execute(
                select(InstanceModel, HostModel).outerjoin(HostModel, HostModel.id == InstanceModel.host_id)
                .where(InstanceModel.submission_id == request.submission_id))).first()
            if existing is not None:
                instance, host = existing
                if instance.released_at is None and host is not None:
                    return ProvisionResult(instance=_instance(instance, host))
                return ProvisionResult(reason="this submission was released", released=True)

            hosts_query = (select(HostModel).join(FleetModel, FleetModel.id == HostModel.fleet_id)
                           .where(HostModel.status.in_(_SCHEDULABLE), _fleet_allowed(request))
                           .order_by(HostModel.id))
            if not self._db.is_sqlite:
                hosts_query = hosts_query.with_for_update(of=HostModel)
            hosts = list((await session.execute(hosts_query)).scalars())
            where = f" in fleets {', '.join(request.fleets)}" if request.fleets else ""
            if not hosts:
                if request.fleets and not await session.scalar(
                        select(func.count()).select_from(FleetModel).where(_fleet_allowed(request))):
                    return ProvisionResult(reason=f"no fleet named {' or '.join(request.fleets)} serves project "
                                                  f"{request.project}", can_ever_fit=False)
                return ProvisionResult(reason=f"no hosts{where} are registered")
            used = {
                row.host_id: (row.cpu, row.memory)
                for row in await session.execute(
                    select(InstanceModel.host_id, func.sum(InstanceModel.cpu_milli).label("cpu"),
                           func.sum(InstanceModel.memory_mb).label("memory"))
                    .where(InstanceModel.released_at.is_(None)).group_by(InstanceModel.host_id))
            }
            taken_gpus = await _taken_gpus(session, [h.id for h in hosts if h.gpus])

            def free(host: HostModel) -> tuple[int, int]:
                cpu, memory = used.get(host.id, (0, 0))
                return host.cpu_milli - int(cpu or 0), host.memory_mb - int(memory or 0)

            def gpus_for(host: HostModel) -> list[int] | None:
                if request.gpu is None:
                    return []
                return choose_gpus(request.gpu, _gpus(host), taken_gpus.get(host.id, set()))

            alive = [h for h in hosts if h.status == HostState.ACTIVE.value]
            fitting = [h for h in alive if free(h)[0] >= request.cpu_milli and free(h)[1] >= request.memory_mb
                       and gpus_for(h) is not None]
            if not fitting:
                wanted = _describe(request)
                if any(_could_ever_fit(request, h) for h in hosts):
                    return ProvisionResult(reason=f"waiting for capacity ({wanted}){where}")
                largest = max(hosts, key=lambda h: (len(h.gpus or []), h.cpu_milli, h.memory_mb))
                return ProvisionResult(
                    reason=f"no host{where} can ever fit {wanted}; the largest has {_describe_host(largest)}",
                    can_ever_fit=False)
            # The most free host, so replicas spread; a replica without GPUs keeps off free GPUs,
            # so that GPU replicas don't find their GPUs with no CPU left beside them.
            host = max(fitting, key=lambda h: (
                0 if request.gpu else -(len(h.gpus or []) - len(taken_gpus.get(h.id, set()))), *free(h)))
            instance = InstanceModel(id=str(uuid.uuid4()), submission_id=request.submission_id,
                                     run_id=request.run_id, host_id=host.id, cpu_milli=request.cpu_milli,
                                     memory_mb=request.memory_mb, price_per_hour=host.price_per_hour,
                                     gpu_indices=gpus_for(host) or None)
            session.add(instance)
            return ProvisionResult(instance=_instance(instance, host))

    async def release(self, submission_id: str, run_id: str = "") -> None:
        """Frees the submission's slice; a submission without one gets a released row without
        a host, so an allocation still in flight for it (a waiter that missed its cancel) is
        refused instead of holding capacity for a finished run."""
        now = utcnow()
        insert = (sqlite_insert if self._db.is_sqlite else postgresql_insert)(InstanceModel).values(
            id=str(uuid.uuid4()), submission_id=submission_id, run_id=run_id, host_id=None,
            cpu_milli=0, memory_mb=0, price_per_hour=0.0, created_at=now, released_at=now)
        statement = insert.on_conflict_do_update(
            index_elements=[InstanceModel.submission_id], set_={"released_at": now},
            where=InstanceModel.released_at.is_(None),
        ).returning(InstanceModel.cpu_milli, InstanceModel.memory_mb)
        async with self._db.write() as session:
            released = (await session.execute(statement)).all()
        self._wake_waiters(released)

    async def release_run(self, run_id: str) -> None:
        """Releases every instance the run still holds: a finished run holds no capacity."""
        async with self._db.write() as session:
            released = (await session.execute(
                update(InstanceModel)
                .where(InstanceModel.run_id == run_id, InstanceModel.released_at.is_(None))
                .values(released_at=utcnow())
                .returning(InstanceModel.cpu_milli, InstanceModel.memory_mb)
                .execution_options(synchronize_session=False))).all()
        self._wake_waiters(released)

    def _wake_waiters(self, released: Sequence[Row[int, int]]) -> None:
        """Counts what the committed releases freed (a row without a host frees nothing)."""
        cpu_milli, memory_mb = sum(row.cpu_milli for row in released), sum(row.memory_mb for row in released)
        if cpu_milli or memory_mb:
            self._freed_cpu_milli += cpu_milli
            self._freed_memory_mb += memory_mb
            self._freed.set()
            self._freed = asyncio.Event()

    async def wait_for_room(self, request: ProvisionRequest, poll_seconds: float) -> None:
        """Returns once releases in this process have freed as much as `request` needs, or
        after `poll_seconds` (releases in other processes). Waiters for large slices are not
        woken by every small release, so many of them don't stampede the database."""
        start_cpu, start_memory = self._freed_cpu_milli, self._freed_memory_mb
        loop = asyncio.get_running_loop()
        deadline = loop.time() + poll_seconds
        while (remaining := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), remaining)
            if (self._freed_cpu_milli - start_cpu >= request.cpu_milli
                    and self._freed_memory_mb - start_memory >= request.memory_mb):
                return

    async def worth_allocating(self, request: ProvisionRequest) -> bool:
        """A cheap read-only look before taking the write lock: a host has room, or the
        submission already has a row (allocated, or released), which `allocate` answers."""
        async with self._db.read() as session:
            if await session.scalar(select(InstanceModel.id).where(
                    InstanceModel.submission_id == request.submission_id)) is not None:
                return True
            used = select(InstanceModel.host_id, func.sum(InstanceModel.cpu_milli).label("cpu"),
                          func.sum(InstanceModel.memory_mb).label("memory")).where(
                InstanceModel.released_at.is_(None)).group_by(InstanceModel.host_id).subquery()
            row = (await session.execute(
                select(HostModel.id).outerjoin(used, used.c.host_id == HostModel.id).where(
                    HostModel.cpu_milli - func.coalesce(used.c.cpu, 0) >= request.cpu_milli,
                    HostModel.memory_mb - func.coalesce(used.c.memory, 0) >= request.memory_mb).limit(1)
            )).first()
        return row is not None

    async def released_submissions(self, submission_ids: Sequence[str]) -> set[str]:
        """Those of the submissions whose instance has been released."""
        async with self._db.read() as session:
            return set((await session.scalars(
                select(InstanceModel.submission_id).where(InstanceModel.submission_id.in_(list(submission_ids)),
                                                          InstanceModel.released_at.is_not(None)))).all())

    async def allocated(self, host_id: str) -> tuple[int, int]:
        """CPU (milli) and memory (MB) currently held on a host."""
        async with self._db.read() as session:
            row = (await session.execute(
                select(func.coalesce(func.sum(InstanceModel.cpu_milli), 0),
                       func.coalesce(func.sum(InstanceModel.memory_mb), 0))
                .where(InstanceModel.host_id == host_id, InstanceModel.released_at.is_(None)))).one()
        return int(row[0]), int(row[1])


# Unreachable hosts may come back: a run that only they could hold waits rather than fails.
_SCHEDULABLE = [HostState.ACTIVE.value, HostState.UNREACHABLE.value]


def _fleet_allowed(request: ProvisionRequest) -> ColumnElement[bool]:
    """Fleets the run may use: shared fleets of workers and its project's own, narrowed to the
    run's `fleets` when it names some."""
    of_project = or_(FleetModel.project_id.is_(None),
                     FleetModel.project_id == select(ProjectModel.id).where(ProjectModel.name == request.project)
                     .scalar_subquery())
    if request.fleets:
        return and_(of_project, FleetModel.name.in_(request.fleets))
    return of_project


async def _taken_gpus(session: AsyncSession, host_ids: list[str]) -> dict[str, set[int]]:
    taken: dict[str, set[int]] = {}
    rows = await session.execute(select(InstanceModel.host_id, InstanceModel.gpu_indices).where(
        InstanceModel.host_id.in_(host_ids), InstanceModel.released_at.is_(None),
        InstanceModel.gpu_indices.is_not(None)))
    for row in rows:
        taken.setdefault(row.host_id, set()).update(row.gpu_indices or [])
    return taken


def _gpus(host: HostModel) -> list[Gpu]:
    return [Gpu.model_validate(gpu) for gpu in host.gpus or []]


def _could_ever_fit(request: ProvisionRequest, host: HostModel) -> bool:
    return (host.cpu_milli >= request.cpu_milli and host.memory_mb >= request.memory_mb
            and (request.gpu is None or could_ever_fit(request.gpu, _gpus(host))))


def _describe(request: ProvisionRequest) -> str:
    gpu = f", GPU {request.gpu.describe()}" if request.gpu else ""
    return f"{request.cpu_milli / 1000:g} CPU, {format_memory(request.memory_mb)}{gpu}"


def _describe_host(host: HostModel) -> str:
    gpus = _gpus(host)
    gpu = f", {len(gpus)} GPU ({', '.join(sorted({g.name for g in gpus}))})" if gpus else ""
    return f"{host.cpu_milli / 1000:g} CPU, {format_memory(host.memory_mb)}{gpu}"


def _instance(instance: InstanceModel, host: HostModel) -> Instance:
    return Instance(id=instance.id, submission_id=instance.submission_id, host_id=host.id, host_name=host.name,
                    task_queue=host.task_queue, price_per_hour=instance.price_per_hour,
                    gpu_indices=instance.gpu_indices or [])
