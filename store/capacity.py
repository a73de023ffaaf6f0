"""Hosts and the slices of them (instances) allocated to job submissions."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.jobs import Instance, ProvisionRequest, ProvisionResult
from core.units import format_memory
from store.database import Database
from store.models import HostModel, InstanceModel, utcnow


class Capacity:
    def __init__(self, database: Database) -> None:
        self._db = database
        # What releases in this process have freed, ever; waiters compare it with what they need.
        self._freed_cpu_milli = 0
        self._freed_memory_mb = 0
        self._freed = asyncio.Event()

    async def register_host(self, *, host_id: str, name: str, backend_type: str, task_queue: str,
                            cpu_milli: int, memory_mb: int, price_per_hour: float) -> None:
        async with self._db.write() as session:
            host = await session.get(HostModel, host_id)
            if host is None:
                session.add(HostModel(id=host_id, name=name, backend_type=backend_type, task_queue=task_queue,
                                      cpu_milli=cpu_milli, memory_mb=memory_mb, price_per_hour=price_per_hour))
            else:
                host.name, host.backend_type, host.task_queue = name, backend_type, task_queue
                host.cpu_milli, host.memory_mb, host.price_per_hour = cpu_milli, memory_mb, price_per_hour

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

            hosts_query = select(HostModel).order_by(HostModel.id)
            if not self._db.is_sqlite:
                hosts_query = hosts_query.with_for_update()
            hosts = list((await session.execute(hosts_query)).scalars())
            if not hosts:
                return ProvisionResult(reason="no hosts are registered")
            used = {
                row.host_id: (row.cpu, row.memory)
                for row in await session.execute(
                    select(InstanceModel.host_id, func.sum(InstanceModel.cpu_milli).label("cpu"),
                           func.sum(InstanceModel.memory_mb).label("memory"))
                    .where(InstanceModel.released_at.is_(None)).group_by(InstanceModel.host_id))
            }

            def free(host: HostModel) -> tuple[int, int]:
                cpu, memory = used.get(host.id, (0, 0))
                return host.cpu_milli - int(cpu or 0), host.memory_mb - int(memory or 0)

            fitting = [h for h in hosts if free(h)[0] >= request.cpu_milli and free(h)[1] >= request.memory_mb]
            if not fitting:
                could_fit = any(h.cpu_milli >= request.cpu_milli and h.memory_mb >= request.memory_mb
                                for h in hosts)
                wanted = f"{request.cpu_milli / 1000:g} CPU, {format_memory(request.memory_mb)}"
                if could_fit:
                    return ProvisionResult(reason=f"waiting for capacity ({wanted})")
                largest = max(hosts, key=lambda h: (h.cpu_milli, h.memory_mb))
                return ProvisionResult(
                    reason=f"no host can ever fit {wanted}; the largest has "
                           f"{largest.cpu_milli / 1000:g} CPU, {format_memory(largest.memory_mb)}",
                    can_ever_fit=False)
            host = max(fitting, key=lambda h: free(h))
            instance = InstanceModel(id=str(uuid.uuid4()), submission_id=request.submission_id,
                                     run_id=request.run_id, host_id=host.id, cpu_milli=request.cpu_milli,
                                     memory_mb=request.memory_mb, price_per_hour=host.price_per_hour)
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


def _instance(instance: InstanceModel, host: HostModel) -> Instance:
    return Instance(id=instance.id, submission_id=instance.submission_id, host_id=host.id, host_name=host.name,
                    task_queue=host.task_queue, price_per_hour=instance.price_per_hour)
