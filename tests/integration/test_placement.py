"""Where replicas go, on SQLite and PostgreSQL: fleets a run may use, hosts that went silent,
GPUs that are never shared, and the liveness of hosts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.gpus import parse_gpu_spec
from core.jobs import ProvisionRequest
from store.accounts import DEFAULT_PROJECT
from store.capacity import Capacity
from store.database import Database
from store.hosts import HostStore
from store.models import FleetModel, HostModel, ProjectModel, UserModel, utcnow
from store.runs import NewRun, RunStore
from tests.support.hosts import join_host

pytestmark = pytest.mark.integration

FOUR_GPUS = [{"index": i, "name": "NVIDIA A100-SXM4-80GB", "memory_mb": 81920} for i in range(4)]


def request(cpu_milli: int = 1000, *, fleets: list[str] | None = None, gpu: str | None = None,
            project: str = DEFAULT_PROJECT) -> ProvisionRequest:
    return ProvisionRequest(submission_id=str(uuid.uuid4()), run_id="r", project=project, fleets=fleets or [],
                            cpu_milli=cpu_milli, memory_mb=256, gpu=parse_gpu_spec(gpu) if gpu else None)


async def test_replicas_spread_by_free_capacity_within_the_fleets_a_run_names(database: Database) -> None:
    await join_host(database, "a1", fleet="alpha")
    await join_host(database, "a2", fleet="alpha")
    await join_host(database, "b1", fleet="beta", cpu_milli=64000)
    capacity = Capacity(database)
    placed = [await capacity.allocate(request(fleets=["alpha"])) for _ in range(8)]
    hosts = [result.instance.host_id for result in placed if result.instance]
    assert sorted(hosts) == ["a1"] * 4 + ["a2"] * 4  # never beta, and evenly by what is free
    full = await capacity.allocate(request(fleets=["alpha"]))
    assert full.instance is None and full.can_ever_fit
    assert full.reason == "waiting for capacity (1 CPU, 256MB) in fleets alpha"
    never = await capacity.allocate(request(8000, fleets=["alpha"]))
    assert not never.can_ever_fit
    assert never.reason == "no host in fleets alpha can ever fit 8 CPU, 256MB; the largest has 4 CPU, 8GB"
    unknown = await capacity.allocate(request(fleets=["gamma"]))
    assert not unknown.can_ever_fit and unknown.reason == "no fleet named gamma serves project main"


async def test_a_projects_own_fleet_serves_that_project_only(database: Database) -> None:
    await join_host(database, "private-1", fleet="private")
    async with database.write() as session:
        project_id = await session.scalar(select(ProjectModel.id).where(ProjectModel.name == DEFAULT_PROJECT))
        other_id = str(uuid.uuid4())
        session.add(ProjectModel(id=other_id, name="other"))
        await session.flush()
        await session.execute(update(FleetModel).where(FleetModel.name == "private").values(project_id=project_id))
    capacity = Capacity(database)
    assert (await capacity.allocate(request())).instance is not None
    refused = await capacity.allocate(request(project="other"))
    assert refused.instance is None and refused.reason == "no hosts are registered"


async def test_gpus_are_never_shared_and_a_silent_host_gets_nothing(database: Database) -> None:
    await join_host(database, "gpu-1", gpus=FOUR_GPUS, cpu_milli=64000, memory_mb=65536)
    capacity = Capacity(database)
    results = await asyncio.gather(*(capacity.allocate(request(gpu="A100:2")) for _ in range(3)))
    granted = [r.instance.gpu_indices for r in results if r.instance]
    assert sorted(granted) == [[0, 1], [2, 3]]  # two fit, with disjoint GPUs; the third waits
    assert [r.reason for r in results if not r.instance] == [
        f"waiting for capacity (1 CPU, 256MB, GPU {parse_gpu_spec('A100:2').describe()})"]
    never = await capacity.allocate(request(gpu="H100"))
    assert not never.can_ever_fit and "the largest has 64 CPU, 64GB, 4 GPU" in never.reason

    hosts = HostStore(database)
    await join_host(database, "cpu-1", fleet="cpu")
    async with database.write() as session:
        await session.execute(update(HostModel).where(HostModel.id == "cpu-1")
                              .values(last_seen_at=utcnow() - timedelta(seconds=31)))
    assert await hosts.mark_silent_unreachable(timedelta(seconds=30)) == ["cpu-1"]
    assert await hosts.mark_silent_unreachable(timedelta(seconds=30)) == []  # reported once
    waiting = await capacity.allocate(request(fleets=["cpu"]))
    assert waiting.instance is None and waiting.can_ever_fit  # it may come back: the run waits
    assert await hosts.heartbeat("cpu-1")  # it speaks again: usable again
    placed = await capacity.allocate(request(fleets=["cpu"]))
    assert placed.instance is not None and placed.instance.host_id == "cpu-1"


async def test_replicas_of_a_silent_host_are_reported_until_released(database: Database) -> None:
    await join_host(database, "h1")
    capacity, hosts = Capacity(database), HostStore(database)
    async with database.read() as session:
        project_id, user_id = (await session.execute(
            select(ProjectModel.id, UserModel.id).where(ProjectModel.name == DEFAULT_PROJECT))).one()
    await RunStore(database).create(NewRun(
        id="run-1", project_id=project_id, user_id=user_id, run_name="r", workflow_id="wf-1", desired_replicas=1,
        configuration={}, submitted_at=utcnow()))
    held = await capacity.allocate(request().model_copy(update={"run_id": "run-1"}))
    assert held.instance is not None
    assert await hosts.lost_replicas() == []  # the host is alive
    async with database.write() as session:
        await session.execute(update(HostModel).where(HostModel.id == "h1")
                              .values(last_seen_at=utcnow() - timedelta(minutes=5)))
    assert await hosts.mark_silent_unreachable(timedelta(seconds=30)) == ["h1"]
    (lost,) = await hosts.lost_replicas()
    assert (lost.host_id, lost.workflow_id, lost.submission_id) == ("h1", "wf-1", held.instance.submission_id)
    assert lost.silent_seconds >= 300
    assert await hosts.prune(timedelta(minutes=1)) == []  # it still holds a replica
    await capacity.release(held.instance.submission_id)
    assert await hosts.prune(timedelta(minutes=1)) == ["h1"]
    assert not await hosts.heartbeat("h1")  # pruned: its worker must join again
    await join_host(database, "h1")
    assert await hosts.heartbeat("h1")
