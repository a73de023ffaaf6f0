"""Hosts as the scheduler sees them: which fleet each belongs to, and whether it is alive.

A host's worker heartbeats its own row; a host silent past the liveness bound is `unreachable`
(the scheduler skips it, and the monitor ends its replicas), and one that speaks again is
`active` again. Nothing polls hosts: a host says it is alive, or it isn't.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, select, update

from core.statuses import FleetStatus, HostState
from store.database import Database
from store.models import FleetModel, HostModel, InstanceModel, RunModel, utcnow

DEFAULT_FLEET = "local"


@dataclass(frozen=True)
class HostRegistration:
    host_id: str
    name: str
    backend_type: str
    task_queue: str
    cpu_milli: int
    memory_mb: int
    price_per_hour: float
    gpus: list[dict[str, object]]
    fleet: str = DEFAULT_FLEET


@dataclass(frozen=True)
class LostReplica:
    """A submission still holding capacity on a host that went silent."""

    host_id: str
    workflow_id: str
    submission_id: str
    silent_seconds: float


class HostStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def join(self, host: HostRegistration) -> None:
        """Registers the host in its fleet (a fleet of workers is created by its first host; an
        SSH fleet exists before its hosts), alive as of now."""
        async with self._db.write() as session:
            fleet = await session.scalar(select(FleetModel).where(FleetModel.name == host.fleet))
            if fleet is None:
                fleet = FleetModel(id=str(uuid.uuid4()), name=host.fleet, type="workers",
                                   status=FleetStatus.ACTIVE.value)
                session.add(fleet)
                await session.flush()
            row = await session.get(HostModel, host.host_id)
            values = {"name": host.name, "backend_type": host.backend_type, "task_queue": host.task_queue,
                      "cpu_milli": host.cpu_milli, "memory_mb": host.memory_mb,
                      "price_per_hour": host.price_per_hour, "gpus": host.gpus, "fleet_id": fleet.id,
                      "status": HostState.ACTIVE.value, "last_seen_at": utcnow()}
            if row is not None and row.status == HostState.TERMINATING.value:
                values["status"] = row.status  # its fleet is removing it: a restarted worker doesn't undo that
            if row is None:
                session.add(HostModel(id=host.host_id, **values))
            else:
                for key, value in values.items():
                    setattr(row, key, value)

    async def heartbeat(self, host_id: str) -> bool:
        """The host is alive now; one that was unreachable is usable again. False when its row is
        gone or its fleet removed it (the worker then has nothing to do)."""
        async with self._db.write() as session:
            result = await session.execute(
                update(HostModel)
                .where(HostModel.id == host_id,
                       HostModel.status.in_([HostState.ACTIVE.value, HostState.UNREACHABLE.value]))
                .values(last_seen_at=utcnow(), status=HostState.ACTIVE.value)
                .execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_silent_unreachable(self, silent_for: timedelta) -> list[str]:
        """Hosts whose worker has said nothing for `silent_for` become unreachable; returns them.
        Conditional, so concurrent monitors each report a host once between them."""
        cutoff = utcnow() - silent_for
        async with self._db.write() as session:
            rows = await session.execute(
                update(HostModel)
                .where(HostModel.status == HostState.ACTIVE.value, HostModel.last_seen_at < cutoff)
                .values(status=HostState.UNREACHABLE.value)
                .returning(HostModel.id)
                .execution_options(synchronize_session=False))
            return [row.id for row in rows]

    async def lost_replicas(self) -> list[LostReplica]:
        """Every submission still holding capacity on an unreachable host: its run must end it."""
        async with self._db.read() as session:
            rows = await session.execute(
                select(InstanceModel.host_id, RunModel.workflow_id, InstanceModel.submission_id,
                       HostModel.last_seen_at)
                .join(HostModel, HostModel.id == InstanceModel.host_id)
                .join(RunModel, RunModel.id == InstanceModel.run_id)
                .where(HostModel.status == HostState.UNREACHABLE.value, InstanceModel.released_at.is_(None)))
            now = utcnow()
            return [LostReplica(host_id=row.host_id, workflow_id=row.workflow_id, submission_id=row.submission_id,
                                silent_seconds=(now - row.last_seen_at).total_seconds() if row.last_seen_at else 0)
                    for row in rows]

    async def prune(self, silent_for: timedelta) -> list[str]:
        """Hosts unreachable for `silent_for` and holding nothing leave the scheduler's view for
        good (`terminated`); a worker that comes back later registers again."""
        cutoff = utcnow() - silent_for
        holding = exists().where(InstanceModel.host_id == HostModel.id, InstanceModel.released_at.is_(None))
        async with self._db.write() as session:
            rows = await session.execute(
                update(HostModel)
                .where(HostModel.status == HostState.UNREACHABLE.value, HostModel.last_seen_at < cutoff, ~holding)
                .values(status=HostState.TERMINATED.value)
                .returning(HostModel.id)
                .execution_options(synchronize_session=False))
            return [row.id for row in rows]
