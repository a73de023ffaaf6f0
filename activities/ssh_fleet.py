"""The SSH side of SSH fleets: set a host up, check or restart its worker, stop it. Each activity
opens one SSH connection (asyncssh) for what it does and closes it; nothing stays connected.

The host and its key come from the fleet's row (the key never travels in a workflow history),
and what the worker is told (database, Temporal) from this worker's settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncssh
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.durastack_wheel import Wheel, durastack_wheel
from activities.fleet_records import FleetRecordActivities
from activities.remote_worker import (
    INSTALLED_HASH,
    WHEELS,
    RemoteWorkerSettings,
    environment_file,
    host_dir,
    install_script,
    python_version_problem,
    sh,
    start_script,
    status_script,
    stop_script,
    worker_environment,
)
from core.configuration import ConfigurationError
from core.fleet_configuration import SSHHost, parse_fleet_configuration
from store.fleets import FleetStore
from workflows.fleet_messages import (
    CHECK_SSH_WORKER,
    SET_UP_SSH_HOST,
    STOP_SSH_WORKER,
    FleetHost,
    HostSetup,
    WorkerCheck,
    WorkerCheckRequest,
)

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT_SECONDS = 20
COMMAND_TIMEOUT_SECONDS = 120
INSTALL_TIMEOUT_SECONDS = 15 * 60
HEARTBEAT_SECONDS = 10


@dataclass(frozen=True)
class _Target:
    fleet_name: str
    host: SSHHost

    @property
    def where(self) -> str:
        return f"{self.host.user}@{self.host.hostname}:{self.host.port}"


class SshFleetActivities:
    def __init__(self, fleets: FleetStore, settings: RemoteWorkerSettings) -> None:
        self._fleets = fleets
        self._settings = settings

    @activity.defn(name=SET_UP_SSH_HOST)
    async def set_up_ssh_host(self, host: FleetHost) -> HostSetup:
        """Python 3.11+, this server's durastack, a running worker. A host that can't have them
        is an answer (started=False, and why); a host that can't be reached is an error, retried."""
        target = await self._target(host)
        bound = log.bind(host_id=host.host_id, host=target.where)
        async with _heartbeating(), ssh_connection(target) as connection:
            version = await connection.run(sh("python3 --version 2>&1"), check=False, timeout=COMMAND_TIMEOUT_SECONDS)
            problem = python_version_problem(_text(version.stdout))
            if problem is not None:
                bound.warning("ssh host refused", reason=problem)
                return HostSetup(host_id=host.host_id, started=False, message=problem)
            wheel = await asyncio.to_thread(durastack_wheel, self._settings.wheel_cache_dir)
            installed = await connection.run(sh(f"cat {INSTALLED_HASH} 2>/dev/null || true"), check=False,
                                             timeout=COMMAND_TIMEOUT_SECONDS)
            if _text(installed.stdout).strip() != wheel.content_hash:
                bound.info("installing durastack on the host", wheel=wheel.filename)
                failure = await _install(connection, wheel)
                if failure is not None:
                    return HostSetup(host_id=host.host_id, started=False, message=failure)
            home = _text((await connection.run('printf %s "$HOME"', check=True,
                                               timeout=COMMAND_TIMEOUT_SECONDS)).stdout)
            environment = worker_environment(self._settings, fleet_name=target.fleet_name, host_id=host.host_id,
                                             home=home)
            async with connection.start_sftp_client() as sftp:
                await sftp.makedirs(host_dir(host.host_id), exist_ok=True)
                path = f"{host_dir(host.host_id)}/worker.env"
                async with sftp.open(path, "w", attrs=asyncssh.SFTPAttrs(permissions=0o600)) as file:
                    await file.write(environment_file(environment))
                await sftp.chmod(path, 0o600)  # an existing file keeps its mode on open
            started = await connection.run(sh(start_script(host.host_id)), check=False,
                                           timeout=COMMAND_TIMEOUT_SECONDS)
            if started.exit_status != 0:
                return HostSetup(host_id=host.host_id, started=False,
                                 message=f"the worker did not start: {_last_lines(started.stderr)}")
        bound.info("ssh host worker started")
        return HostSetup(host_id=host.host_id, started=True)

    @activity.defn(name=CHECK_SSH_WORKER)
    async def check_ssh_worker(self, request: WorkerCheckRequest) -> WorkerCheck:
        target = await self._target(request.host)
        async with ssh_connection(target) as connection:
            status = await connection.run(sh(status_script(request.host.host_id)), check=False,
                                          timeout=COMMAND_TIMEOUT_SECONDS)
            first, _, tail = _text(status.stdout).partition("\n")
            running = first.strip() == "running"
            restarted = False
            if request.restart and not running:
                restart = await connection.run(sh(start_script(request.host.host_id)), check=False,
                                               timeout=COMMAND_TIMEOUT_SECONDS)
                restarted = restart.exit_status == 0
                log.warning("worker of a silent ssh host restarted", host_id=request.host.host_id,
                            restarted=restarted, log_tail=tail.strip())
        return WorkerCheck(running=running, restarted=restarted, log_tail=_last_lines(tail) if tail.strip() else "")

    @activity.defn(name=STOP_SSH_WORKER)
    async def stop_ssh_worker(self, host: FleetHost) -> None:
        target = await self._target(host)
        async with _heartbeating(), ssh_connection(target) as connection:
            stopped = await connection.run(sh(stop_script(host.host_id)), check=False,
                                           timeout=COMMAND_TIMEOUT_SECONDS)
        if stopped.exit_status != 0:
            raise ApplicationError(f"stopping the worker failed: {_last_lines(stopped.stderr)}")
        log.info("ssh host worker stopped", host_id=host.host_id, host=target.where)

    async def _target(self, host: FleetHost) -> _Target:
        fleet = await self._fleets.by_id(host.fleet_id)
        if fleet is None or fleet.spec is None:
            raise ApplicationError(f"fleet {host.fleet_id} has no SSH configuration", non_retryable=True)
        try:
            hosts = parse_fleet_configuration(fleet.spec).hosts()
        except ConfigurationError as error:  # checked at apply; a row edited by hand
            raise ApplicationError(f"fleet {fleet.name}: {error}", non_retryable=True) from None
        if host.index >= len(hosts):
            raise ApplicationError(f"fleet {fleet.name} has no host {host.index} any more", non_retryable=True)
        return _Target(fleet_name=fleet.name, host=hosts[host.index])


@asynccontextmanager
async def ssh_connection(target: _Target) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """A connection with the fleet's key only: no agent, no ~/.ssh/config and no other keys of
    the server's user. Host keys are not checked (see docs/production.md)."""
    try:
        key = asyncssh.import_private_key(target.host.private_key)
    except (asyncssh.KeyImportError, ValueError) as error:
        raise ApplicationError(f"the fleet's private key can't be used: {error}", non_retryable=True) from None
    try:
        connection = await asyncssh.connect(
            target.host.hostname, port=target.host.port, username=target.host.user, client_keys=[key],
            known_hosts=None, agent_path=None, config=[], password=None, preferred_auth="publickey",
            connect_timeout=CONNECT_TIMEOUT_SECONDS, keepalive_interval=15)
    except asyncssh.PermissionDenied as error:
        raise ApplicationError(f"{target.where} refused the fleet's key ({error.reason})",
                               type="PermissionDenied", non_retryable=True) from None
    except (TimeoutError, OSError, asyncssh.Error) as error:
        raise ApplicationError(f"can't connect to {target.where}: {str(error) or type(error).__name__}",
                               type="Unreachable") from None
    async with connection:
        yield connection


async def _install(connection: asyncssh.SSHClientConnection, wheel: Wheel) -> str | None:
    """Copies the wheel over and installs it; why it failed, or None."""
    async with connection.start_sftp_client() as sftp:
        await sftp.makedirs(WHEELS, exist_ok=True)
        await sftp.put(str(wheel.path), f"{WHEELS}/{wheel.filename}")
    result = await connection.run(sh(install_script(wheel.filename, wheel.content_hash)), check=False,
                                  timeout=INSTALL_TIMEOUT_SECONDS)
    if result.exit_status != 0:
        return f"installing durastack failed: {_last_lines(result.stderr)}"
    return None


@asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeats while a long step (pip, a worker's graceful stop) runs, so that a cancel from the
    workflow reaches the activity and a dead worker is noticed within the heartbeat timeout."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def _last_lines(output: str | bytes | None, count: int = 3) -> str:
    """The end of a command's output, as one line for a status message."""
    lines = [line.strip() for line in _text(output).splitlines() if line.strip()]
    return " | ".join(lines[-count:])[:1000] or "no output"


def fleet_workflow_activities(fleets: FleetStore, settings: RemoteWorkerSettings) -> list[Callable[..., Any]]:
    """Every activity of the FleetWorkflow, for the run worker to register."""
    ssh, records = SshFleetActivities(fleets, settings), FleetRecordActivities(fleets)
    return [ssh.set_up_ssh_host, ssh.check_ssh_worker, ssh.stop_ssh_worker, records.fleet_hosts,
            records.record_provisioning, records.set_fleet_message, records.wait_for_hosts_to_join,
            records.silent_hosts, records.begin_fleet_removal, records.wait_for_fleet_release,
            records.finish_fleet_removal]
