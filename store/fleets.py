"""Fleets and what their hosts hold: read by the fleets and instances API, written by `fleets/apply`,
`fleets/delete` and the fleet workflow. Hosts' liveness is store/hosts.py's; nothing here marks
a host active."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from core.statuses import FleetStatus, HostState, InstanceStatus
from store.database import Database
from store.models import FleetModel, HostModel, InstanceModel, RunModel, utcnow

SSH_FLEET = "ssh"
WORKERS_FLEET = "workers"
SSH_BACKEND = "ssh"
# The states in which a host of an SSH fleet may have a worker running that removal must stop.
_MAY_RUN_A_WORKER = (HostState.PROVISIONING, HostState.ACTIVE, HostState.UNREACHABLE, HostState.TERMINATING)


class FleetConflict(Exception):
    """The fleet can't be applied as asked; the message says why, for a 409."""


@dataclass(frozen=True)
class Fleet:
    id: str
    name: str
    project_id: str | None  # None: shared by every project (workers joined it by name)
    type: str  # SSH_FLEET or WORKERS_FLEET
    status: FleetStatus
    status_message: str
    created_at: datetime
    spec: dict[str, Any] | None  # an SSH fleet's configuration, private keys included

    @property
    def is_ssh(self) -> bool:
        return self.type == SSH_FLEET


@dataclass(frozen=True)
class JobOnHost:
    """A job submission holding a slice of a host."""

    project_id: str
    run_id: str
    run_name: str
    replica_num: int | None  # None until its run's projection names the submission
    submission_num: int | None
    submission_id: str


@dataclass(frozen=True)
class HostHoldings:
    """A host, and what its active instances hold of it."""

    id: str
    name: str
    fleet_id: str | None
    backend_type: str
    state: HostState
    cpu_milli: int
    memory_mb: int
    gpus: list[dict[str, Any]]
    price_per_hour: float
    registered_at: datetime
    last_seen_at: datetime | None
    used_cpu_milli: int = 0
    used_memory_mb: int = 0
    used_gpu_indices: list[int] = field(default_factory=list)
    jobs: list[JobOnHost] = field(default_factory=list)

    @property
    def status(self) -> InstanceStatus:
        return instance_status(self.state, holds_jobs=bool(self.jobs))


def instance_status(state: HostState, *, holds_jobs: bool) -> InstanceStatus:
    """A host as dstack's instances API names its states."""
    if state is HostState.ACTIVE:
        return InstanceStatus.BUSY if holds_jobs else InstanceStatus.IDLE
    return {HostState.PROVISIONING: InstanceStatus.PROVISIONING, HostState.UNREACHABLE: InstanceStatus.UNREACHABLE,
            HostState.TERMINATING: InstanceStatus.TERMINATING, HostState.TERMINATED: InstanceStatus.TERMINATED}[state]


def ssh_host_id(fleet_name: str, index: int) -> str:
    """The id of an SSH fleet's host, which its worker is started with (DURASTACK_HOST_ID)."""
    return f"{fleet_name}-{index}"


class FleetStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def is_sqlite(self) -> bool:
        return self._db.is_sqlite

    # -- reading --------------------------------------------------------------------------------

    async def get(self, name: str) -> Fleet | None:
        async with self._db.read() as session:
            row = await session.scalar(select(FleetModel).where(FleetModel.name == name))
        return _fleet(row) if row is not None else None

    async def by_id(self, fleet_id: str) -> Fleet | None:
        async with self._db.read() as session:
            row = await session.get(FleetModel, fleet_id)
        return _fleet(row) if row is not None else None

    async def visible_to(self, project_ids: Sequence[str]) -> list[Fleet]:
        """The shared fleets and those of the projects, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(FleetModel)
                .where(or_(FleetModel.project_id.is_(None), FleetModel.project_id.in_(list(project_ids))))
                .order_by(FleetModel.created_at, FleetModel.name))
            return [_fleet(row) for row in rows]

    async def hosts_of(self, fleet_ids: Sequence[str]) -> dict[str, list[HostHoldings]]:
        """Each fleet's hosts (in id order) with what their active instances hold."""
        if not fleet_ids:
            return {}
        async with self._db.read() as session:
            hosts = list(await session.scalars(
                select(HostModel).where(HostModel.fleet_id.in_(list(fleet_ids))).order_by(HostModel.id)))
            held = (await session.execute(
                select(InstanceModel, RunModel.project_id, RunModel.run_name, RunModel.state)
                .join(RunModel, RunModel.id == InstanceModel.run_id)
                .where(InstanceModel.host_id.in_([host.id for host in hosts]),
                       InstanceModel.released_at.is_(None))
                .order_by(InstanceModel.created_at))).all()
        instances: dict[str, list[tuple[InstanceModel, JobOnHost]]] = defaultdict(list)
        replicas = _ReplicaNumbers()
        for instance, project_id, run_name, state in held:
            replica_num, submission_num = replicas.of(instance.run_id, state, instance.submission_id)
            instances[instance.host_id or ""].append((instance, JobOnHost(
                project_id=project_id, run_id=instance.run_id, run_name=run_name, replica_num=replica_num,
                submission_num=submission_num, submission_id=instance.submission_id)))
        by_fleet: dict[str, list[HostHoldings]] = defaultdict(list)
        for host in hosts:
            held_here = instances.get(host.id, [])
            by_fleet[host.fleet_id or ""].append(HostHoldings(
                id=host.id, name=host.name, fleet_id=host.fleet_id, backend_type=host.backend_type,
                state=HostState(host.status), cpu_milli=host.cpu_milli, memory_mb=host.memory_mb,
                gpus=list(host.gpus or []), price_per_hour=host.price_per_hour, registered_at=host.registered_at,
                last_seen_at=host.last_seen_at,
                used_cpu_milli=sum(instance.cpu_milli for instance, _ in held_here),
                used_memory_mb=sum(instance.memory_mb for instance, _ in held_here),
                used_gpu_indices=sorted(index for instance, _ in held_here for index in instance.gpu_indices or []),
                jobs=[job for _, job in held_here]))
        return by_fleet

    # -- applying and removing (the API) ----------------------------------------------------------

    async def apply_ssh_fleet(self, *, project_id: str, name: str, spec: dict[str, Any],
                              hostnames: Sequence[str]) -> Fleet:
        """Creates the fleet, or sets an existing one of this project up again with `spec`: its
        hosts are `provisioning` until their workers join. Raises FleetConflict."""
        async with self._db.write() as session:
            query = select(FleetModel).where(FleetModel.name == name)
            fleet = await session.scalar(query if self._db.is_sqlite else query.with_for_update())
            now = utcnow()
            if fleet is None:
                fleet = FleetModel(id=str(uuid.uuid4()), name=name, project_id=project_id, type=SSH_FLEET,
                                   status=FleetStatus.SUBMITTED.value, status_message="", spec=spec, created_at=now)
                session.add(fleet)
                await session.flush()
            else:
                _check_reapplicable(fleet, project_id)
                if fleet.status in (FleetStatus.TERMINATED.value, FleetStatus.FAILED.value):
                    fleet.created_at = now  # a fleet made anew from a removed one's name
                fleet.status, fleet.status_message, fleet.spec = FleetStatus.SUBMITTED.value, "", spec
            for index, hostname in enumerate(hostnames):
                host_id = ssh_host_id(name, index)
                host = await session.get(HostModel, host_id)
                if host is None:
                    session.add(HostModel(id=host_id, name=hostname, backend_type=SSH_BACKEND, task_queue="",
                                          cpu_milli=0, memory_mb=0, price_per_hour=0.0, registered_at=now,
                                          fleet_id=fleet.id, status=HostState.PROVISIONING.value))
                    continue
                if host.fleet_id != fleet.id and host.status != HostState.TERMINATED.value:
                    raise FleetConflict(f"host id {host_id} is taken by a live host of another fleet")
                host.name, host.fleet_id, host.status = hostname, fleet.id, HostState.PROVISIONING.value
            return _fleet(fleet)

    async def begin_removal(self, fleet_id: str) -> list[str]:
        """The fleet and its hosts become `terminating`, so the scheduler places nothing more
        there; returns the hosts whose workers removal must stop. Idempotent."""
        async with self._db.write() as session:
            await session.execute(
                update(FleetModel)
                .where(FleetModel.id == fleet_id, FleetModel.status != FleetStatus.TERMINATED.value)
                .values(status=FleetStatus.TERMINATING.value, status_message="")
                .execution_options(synchronize_session=False))
            rows = await session.execute(
                update(HostModel)
                .where(HostModel.fleet_id == fleet_id,
                       HostModel.status.in_([state.value for state in _MAY_RUN_A_WORKER]))
                .values(status=HostState.TERMINATING.value)
                .returning(HostModel.id)
                .execution_options(synchronize_session=False))
            return sorted(row.id for row in rows)

    # -- the fleet workflow -----------------------------------------------------------------------

    async def record_provisioning(self, fleet_id: str, *, started: Sequence[str], failed: Sequence[str],
                                  messages: dict[str, str]) -> None:
        """Hosts that could not be set up are `terminated`; the fleet is `active` when any host's
        worker started, else `failed`, and its message names each host with something to say. A
        fleet being removed meanwhile is left to its removal."""
        async with self._db.write() as session:
            if failed:
                await session.execute(
                    update(HostModel)
                    .where(HostModel.id.in_(list(failed)), HostModel.status == HostState.PROVISIONING.value)
                    .values(status=HostState.TERMINATED.value)
                    .execution_options(synchronize_session=False))
            status = FleetStatus.ACTIVE if started else FleetStatus.FAILED
            await session.execute(
                update(FleetModel)
                .where(FleetModel.id == fleet_id, FleetModel.status.in_(
                    [FleetStatus.SUBMITTED.value, FleetStatus.ACTIVE.value, FleetStatus.FAILED.value]))
                .values(status=status.value, status_message=describe_hosts(messages))
                .execution_options(synchronize_session=False))

    async def set_status_message(self, fleet_id: str, message: str) -> None:
        async with self._db.write() as session:
            await session.execute(update(FleetModel).where(FleetModel.id == fleet_id)
                                  .values(status_message=message).execution_options(synchronize_session=False))

    async def hosts_in(self, fleet_id: str, states: Sequence[HostState]) -> list[str]:
        async with self._db.read() as session:
            return sorted(await session.scalars(select(HostModel.id).where(
                HostModel.fleet_id == fleet_id, HostModel.status.in_([state.value for state in states]))))

    async def runs_on(self, fleet_id: str) -> list[str]:
        """Workflow ids of the active runs holding instances on the fleet's hosts."""
        async with self._db.read() as session:
            return sorted(set(await session.scalars(
                select(RunModel.workflow_id)
                .join(InstanceModel, InstanceModel.run_id == RunModel.id)
                .join(HostModel, HostModel.id == InstanceModel.host_id)
                .where(HostModel.fleet_id == fleet_id, InstanceModel.released_at.is_(None),
                       RunModel.active.is_(True)))))

    async def holds_instances(self, fleet_id: str) -> bool:
        async with self._db.read() as session:
            found = await session.scalar(
                select(InstanceModel.id).join(HostModel, HostModel.id == InstanceModel.host_id)
                .where(HostModel.fleet_id == fleet_id, InstanceModel.released_at.is_(None)).limit(1))
        return found is not None

    async def finish_removal(self, fleet_id: str, message: str) -> None:
        async with self._db.write() as session:
            await session.execute(
                update(HostModel).where(HostModel.fleet_id == fleet_id)
                .values(status=HostState.TERMINATED.value).execution_options(synchronize_session=False))
            await session.execute(
                update(FleetModel).where(FleetModel.id == fleet_id)
                .values(status=FleetStatus.TERMINATED.value, status_message=message)
                .execution_options(synchronize_session=False))


def describe_hosts(messages: dict[str, str]) -> str:
    """One line naming each host and what there is to say of it."""
    return "; ".join(f"{host_id}: {message}" for host_id, message in sorted(messages.items()))


def _check_reapplicable(fleet: FleetModel, project_id: str) -> None:
    if fleet.type != SSH_FLEET:
        raise FleetConflict(f"fleet {fleet.name} is a fleet of workers that joined it by name (DURASTACK_FLEET); "
                            "choose another name")
    if fleet.project_id != project_id:
        raise FleetConflict(f"the fleet name {fleet.name} is taken by another project")
    if fleet.status == FleetStatus.TERMINATING.value:
        raise FleetConflict(f"fleet {fleet.name} is being deleted; apply it again once it is terminated")


class _ReplicaNumbers:
    """Replica and submission numbers of submissions, from their runs' projected states (each
    state read once)."""

    def __init__(self) -> None:
        self._by_run: dict[str, dict[str, tuple[int, int]]] = {}

    def of(self, run_id: str, state: dict[str, Any] | None, submission_id: str) -> tuple[int | None, int | None]:
        if run_id not in self._by_run:
            self._by_run[run_id] = {
                submission["id"]: (submission["replica_num"], submission["submission_num"])
                for replica in (state or {}).get("replicas", []) for submission in replica.get("submissions", [])}
        return self._by_run[run_id].get(submission_id, (None, None))


def _fleet(row: FleetModel) -> Fleet:
    return Fleet(id=row.id, name=row.name, project_id=row.project_id, type=row.type, status=FleetStatus(row.status),
                 status_message=row.status_message, created_at=row.created_at, spec=row.spec)

