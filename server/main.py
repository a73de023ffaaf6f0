"""Composes a durastack process: the embedded Temporal dev server, the API, the workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import structlog
import uvicorn
import yaml
from temporalio.client import Client

from activities.code_archives import CodeArchives
from activities.remote_worker import remote_worker_settings
from api.app import Services, create_app
from api.health import HealthService
from api.proxy.routes import ServiceRoutes
from api.services.autoscaler import LEADER_LOCK_KEY, Autoscaler
from api.services.fleets import FleetService
from api.services.logs import LogService
from api.services.metrics import MetricsService
from api.services.overdue_aborts import OverdueAborts
from api.services.run_commands import RunCommands
from api.services.runs import RunService, TemporalSettings
from api.services.traffic import TrafficCounter
from backends.registry import create_compute
from server.settings import Settings
from server.supervisor import TemporalSupervisor
from server.temporal import connect
from store.accounts import DEFAULT_PROJECT, Accounts
from store.autoscaled_runs import AutoscaledRuns
from store.capacity import Capacity
from store.code import CodeStore
from store.database import Database
from store.fleets import FleetStore
from store.hosts import HostRegistration, HostStore
from store.leader_lock import LeaderLock
from store.logs import LogStore
from store.metrics import MetricsStore
from store.migrate import upgrade_database
from store.runs import RunStore
from store.traffic import TrafficStore
from worker.host_liveness import HostMonitor, heartbeat_forever
from worker.orphaned_jobs import OrphanedJobs
from worker.workers import HostWorker, host_task_queue, run_worker

log = structlog.get_logger(__name__)

LOCAL_BACKEND = "local"


@dataclass(frozen=True)
class Roles:
    api: bool
    worker: bool
    embedded_temporal: bool


def admin_token(settings: Settings) -> str:
    """The fixed token from the environment, else the one saved on first start."""
    if settings.server_admin_token:
        return settings.server_admin_token
    path = settings.server_dir / "admin_token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    path.write_text(token)
    path.chmod(0o600)
    return token


def client_config_path() -> Path:
    return Path(os.environ.get("DURASTACK_CONFIG", Path.home() / ".durastack" / "config.yml"))


def write_client_config(url: str, token: str) -> Path:
    """What the CLI reads when no flags or environment variables say otherwise."""
    path = client_config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"url": url, "token": token, "project": DEFAULT_PROJECT}))
    path.chmod(0o600)
    return path


def make_state_private(server_dir: Path) -> None:
    """The state directory (database, Temporal's file, admin token, job files) is the server's
    alone, and so is every file the process creates from now on: jobs must not read them."""
    os.umask(0o077)
    server_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    server_dir.chmod(0o700)


async def serve(settings: Settings, roles: Roles) -> None:
    make_state_private(settings.server_dir)
    supervisor = TemporalSupervisor(settings.server_dir, settings.temporal_port, settings.temporal_ui_port) \
        if roles.embedded_temporal else None
    database = Database(settings.resolved_database_url)
    try:
        if supervisor is not None:
            await supervisor.start()
        await upgrade_database(database)
        client = await connect(settings.resolved_temporal_address, settings.temporal_namespace)
        await _serve_roles(settings, roles, database, client, supervisor)
    finally:
        await database.dispose()
        if supervisor is not None:
            await supervisor.stop()


async def _serve_roles(settings: Settings, roles: Roles, database: Database, client: Client,
                       supervisor: TemporalSupervisor | None) -> None:
    runs, logs, capacity, accounts = RunStore(database), LogStore(database), Capacity(database), Accounts(database)
    metrics, code, fleets = MetricsStore(database), CodeStore(database), FleetStore(database)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    tasks: list[asyncio.Task[None]] = []
    sweepers: list[asyncio.Task[None]] = []  # periodic clean-ups, cancelled at shutdown
    workers = []
    if roles.worker:
        compute = create_compute(LOCAL_BACKEND, settings.local_backend_config())
        offer = compute.offer()
        hosts = HostStore(database)
        await hosts.join(HostRegistration(
            host_id=offer.host_id, name=offer.name, backend_type=compute.backend_type,
            task_queue=host_task_queue(offer.host_id), cpu_milli=offer.cpu_milli, memory_mb=offer.memory_mb,
            price_per_hour=offer.price_per_hour, gpus=[gpu.model_dump() for gpu in offer.gpus], fleet=settings.fleet))
        workers = [run_worker(client, settings.task_queue, runs=runs, capacity=capacity, fleets=fleets,
                              remote_workers=remote_worker_settings(settings)),
                   HostWorker(client, compute, logs, metrics, CodeArchives(code, settings.server_dir / "code"))]
        tasks += [asyncio.create_task(worker.run()) for worker in workers]
        sweepers += [asyncio.create_task(OrphanedJobs(compute, capacity).sweep_forever()),
                     asyncio.create_task(heartbeat_forever(hosts, offer.host_id)),
                     asyncio.create_task(HostMonitor(hosts, client).watch_forever())]
        log.info("workers started", host_id=offer.host_id, fleet=settings.fleet, cpus=offer.cpu_milli / 1000,
                 memory_mb=offer.memory_mb, gpus=len(offer.gpus))

    http: uvicorn.Server | None = None
    if roles.api:
        token = admin_token(settings)
        await accounts.bootstrap(token)
        run_service = RunService(runs, accounts, client, TemporalSettings(
            task_queue=settings.task_queue, namespace=settings.temporal_namespace,
            ui_url=settings.resolved_temporal_ui_url), code=code, public_url=settings.resolved_public_url)
        services = Services(
            accounts=accounts,
            runs=run_service,
            run_commands=RunCommands(runs, client),
            logs=LogService(logs, runs),
            metrics=MetricsService(metrics, runs, run_service),
            health=HealthService(database, client, settings.task_queue,
                                 embedded_temporal=(lambda: supervisor.state) if supervisor else None),
            code=code,
            fleets=FleetService(fleets, accounts, client, settings.task_queue),
            service_routes=ServiceRoutes(database),
            traffic=TrafficCounter(TrafficStore(database)),
            autoscaler=Autoscaler(AutoscaledRuns(database), TrafficStore(database), client,
                                  LeaderLock(database, LEADER_LOCK_KEY, "autoscaler")),
        )
        http = _HttpServer(uvicorn.Config(create_app(services, settings.rate_limit), host=settings.server_host,
                                          port=settings.server_port, log_config=None, access_log=False))
        tasks.append(asyncio.create_task(http.serve()))
        overdue_aborts = OverdueAborts(runs, capacity, client, timedelta(seconds=settings.abort_deadline))
        sweepers += [asyncio.create_task(run_service.orphans.sweep_forever()),
                     asyncio.create_task(overdue_aborts.sweep_forever()),
                     asyncio.create_task(services.traffic.flush_forever()),
                     asyncio.create_task(services.autoscaler.decide_forever())]
        url = f"http://{settings.server_host}:{settings.server_port}"
        while not http.started and not tasks[-1].done():  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.05)
        if tasks[-1].done():
            await tasks[-1]  # surfaces the bind error
        if roles.embedded_temporal:
            config_path = write_client_config(url, token)
            _print_banner(url, token, settings.resolved_temporal_ui_url, config_path)
        log.info("api started", url=url)

    failed = asyncio.ensure_future(asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION))
    await asyncio.wait([failed, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    if http is not None:
        http.should_exit = True
    for sweeper in sweepers:
        sweeper.cancel()
    for worker in workers:
        await worker.shutdown()
    for task in tasks:
        with contextlib.suppress(Exception):
            await task
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


class _HttpServer(uvicorn.Server):
    """Uvicorn without its own signal handling: this process shuts the workers down too."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _print_banner(url: str, token: str, temporal_ui: str | None, config_path: Path) -> None:
    lines = [
        "",
        "durastack is up",
        f"  API:         {url}   (OpenAPI: {url}/schema)",
        f"  Admin token: {token}",
        f"  Temporal UI: {temporal_ui or 'not embedded'}",
        f"  The CLI is configured in {config_path}; try: durastack apply -f examples/hello.yml",
        "",
    ]
    print("\n".join(lines), flush=True)  # the banner is for the person at the terminal, not the log
