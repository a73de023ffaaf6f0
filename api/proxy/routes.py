"""Where a service's requests go: its serving replicas, read from the run's projection with one
indexed query and kept for at most CACHE_SECONDS per run.

The run's workflow rewrites its projection whenever its serving replicas change, and a replica
it scales down or replaces leaves them DRAIN (3 s, workflows/run_workflow.py) before it is
terminated; a view at most CACHE_SECONDS old (plus the projection's write) stays inside that."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, select

from api.proxy.errors import ProxyError
from core.statuses import JobStatus
from store.database import Database
from store.models import ProjectModel, RunModel

PREFIX = "/proxy/services"
CACHE_SECONDS = 0.5
# Past this many cached names (most of them unknown ones), the expired ones are dropped.
MAX_CACHED = 10_000

_RUNS = cast(Table, RunModel.__table__)
_PROJECTS = cast(Table, ProjectModel.__table__)
_RUNNING = JobStatus.RUNNING.value

# The project, and its active run of the name if any, with just what routing needs: a few fields
# of the configuration and the state's replicas, extracted by the database (a whole state, events
# and all, is many times larger). The run is found by the partial unique index of active names.
_LOOKUP = (
    select(_PROJECTS.c.id, _RUNS.c.id, _RUNS.c.configuration["type"], _RUNS.c.configuration["auth"],
           _RUNS.c.configuration["strip_prefix"], _RUNS.c.configuration["scaling"],
           _RUNS.c.configuration["replicas"], _RUNS.c.state["replicas"], _RUNS.c.state["stop"])
    .select_from(_PROJECTS.outerjoin(_RUNS, and_(_RUNS.c.project_id == _PROJECTS.c.id,
                                                 _RUNS.c.run_name == bindparam("run_name"),
                                                 _RUNS.c.active.is_(True))))
    .where(_PROJECTS.c.name == bindparam("project_name"))
)


@dataclass(frozen=True)
class Upstream:
    """One serving replica."""

    replica_num: int
    submission_id: str
    address: str
    port: int


@dataclass(frozen=True)
class ServiceRoute:
    project: str
    run_name: str
    run_id: str
    auth: bool
    strip_prefix: bool
    scales_to_zero: bool  # autoscaled with replicas.min 0: a request waits for a replica
    stopping: bool  # the run is being stopped: nothing serves any more
    upstreams: tuple[Upstream, ...]  # by replica number

    @property
    def prefix(self) -> str:
        return f"{PREFIX}/{self.project}/{self.run_name}"


def serving_upstreams(replicas: Sequence[dict[str, Any]] | None, stopping: bool) -> tuple[Upstream, ...]:
    """RunState.serving_submissions() of a projection's replicas, read as JSON: running, ready,
    not being stopped, with an address (tests/unit/test_proxy_logic.py holds the two together)."""
    if stopping or not replicas:
        return ()
    upstreams = []
    for replica in replicas:
        submissions = replica.get("submissions") or []
        if not submissions or replica.get("stop_reason") is not None:
            continue
        current = submissions[-1]
        if current.get("ready") and current.get("status") == _RUNNING and current.get("port") is not None \
                and current.get("address"):
            upstreams.append(Upstream(replica_num=replica["replica_num"], submission_id=current["id"],
                                      address=current["address"], port=current["port"]))
    return tuple(sorted(upstreams, key=lambda upstream: upstream.replica_num))


class ServiceRoutes:
    """Routes by (project, run name), each refreshed at most once per CACHE_SECONDS however many
    requests ask at once: one query in flight per name, in a task of its own, so that a request
    that goes away doesn't take the others' answer with it."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._cached: dict[tuple[str, str], tuple[float, ServiceRoute | ProxyError]] = {}
        self._loading: dict[tuple[str, str], asyncio.Task[ServiceRoute | ProxyError]] = {}

    async def get(self, project: str, run_name: str, max_age: float = CACHE_SECONDS) -> ServiceRoute:
        """The route, or ProxyError 404 naming what is missing."""
        key = (project, run_name)
        cached = self._cached.get(key)
        if cached is not None and time.monotonic() - cached[0] <= max_age:
            found = cached[1]
        else:
            loading = self._loading.get(key)
            if loading is None:
                loading = self._loading[key] = asyncio.create_task(self._load(key))
            found = await asyncio.shield(loading)
        if isinstance(found, ProxyError):
            raise found.again()
        return found

    async def _load(self, key: tuple[str, str]) -> ServiceRoute | ProxyError:
        started = time.monotonic()  # the view is as old as the query's start
        try:
            found = await self._query(*key)
        finally:
            del self._loading[key]
        if len(self._cached) >= MAX_CACHED:
            self._cached = {k: v for k, v in self._cached.items() if started - v[0] <= CACHE_SECONDS}
        self._cached[key] = (started, found)
        return found

    async def _query(self, project: str, run_name: str) -> ServiceRoute | ProxyError:
        async with self._db.read() as session:
            row = (await session.execute(_LOOKUP, {"project_name": project, "run_name": run_name})).one_or_none()
        if row is None:
            return ProxyError(404, f"project {project} not found")
        _, run_id, run_type, auth, strip_prefix, scaling, replica_range, replicas, stop = row
        if run_id is None:
            return ProxyError(404, f"project {project} has no active run named {run_name}")
        if run_type != "service":
            return ProxyError(404, f"run {run_name} is a {run_type}, not a service")
        return ServiceRoute(
            project=project, run_name=run_name, run_id=run_id, auth=_flag(auth, default=True),
            strip_prefix=_flag(strip_prefix, default=True),
            scales_to_zero=scaling is not None and isinstance(replica_range, dict) and replica_range.get("min") == 0,
            stopping=stop is not None, upstreams=serving_upstreams(replicas, stopping=stop is not None))


def _flag(value: object, default: bool) -> bool:
    """A boolean of the configuration as the database extracts it (SQLite says 0 and 1)."""
    return default if value is None else bool(value)
