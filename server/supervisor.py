"""The embedded Temporal dev server, owned by the `durastack server` process that starts it.

- It dies with the server, even when the server is killed with SIGKILL: on Linux the kernel kills
  it when the thread that started it ends (PR_SET_PDEATHSIG). It has its own session, so that a
  terminal's Ctrl+C reaches the server, which stops it last, and not the child first.
- `temporal.pid` in the state directory names it, and is locked while a server owns it: a second
  server on the same state directory fails instead of taking the first one's child away. A dev
  server on the same database file that an earlier start left running (a platform without
  PDEATHSIG, an older durastack) is stopped and logged, never silently used.
- A port held by any other process fails the start with a message that says so.
- When it exits while the server runs, it is started again on the same database file and ports:
  after 0.5 s, twice as long after each failed attempt, at most 30 s apart. The Temporal client and
  the workers reconnect to the same address by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

import psutil
import structlog

from server.temporal import dev_server_command

log = structlog.get_logger(__name__)

ChildStatus = Literal["starting", "running", "restarting", "failed", "stopped"]

FIRST_RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 30.0
STABLE_SECONDS = 60.0  # a child that ran this long before it exited is restarted after the first delay again
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1


class TemporalStartError(RuntimeError):
    """The dev server could not start; the message says why, for the console."""


@dataclass(frozen=True)
class ChildState:
    """What the health endpoint reports about the dev server."""

    status: ChildStatus
    pid: int | None
    restarts: int
    last_exit_code: int | None  # negative: killed by that signal
    since: datetime


class TemporalSupervisor:
    def __init__(self, server_dir: Path, port: int, ui_port: int | None) -> None:
        self.db_file = (server_dir / "temporal.db").resolve()
        self.pid_file = server_dir / "temporal.pid"
        self.log_file = server_dir / "temporal.log"
        self.port, self.ui_port = port, ui_port
        self.state = ChildState("starting", None, 0, None, datetime.now(UTC))
        self._owned_pid_file: IO[str] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the dev server and keeps it running; TemporalStartError when it can't."""
        try:
            self._own_pid_file()
            await self._stop_leftovers()
            await self._spawn()
        except TemporalStartError as error:
            log.error("embedded temporal server could not start", error=str(error))
            raise
        self._watcher = asyncio.create_task(self._restart_forever())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._owned_pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
            self._owned_pid_file.close()
        self._set("stopped", pid=None)

    def _set(self, status: ChildStatus, pid: int | None) -> None:
        self.state = replace(self.state, status=status, pid=pid, since=datetime.now(UTC))

    def _own_pid_file(self) -> None:
        """Locks temporal.pid for this process's lifetime (the kernel drops the lock when it dies)."""
        pid_file = open(self.pid_file, "a+")  # noqa: SIM115 - held open for the lock
        try:
            fcntl.flock(pid_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid_file.close()
            raise TemporalStartError(f"another durastack server is running with the state directory "
                                     f"{self.pid_file.parent}; stop it or set DURASTACK_SERVER_DIR") from None
        self._owned_pid_file = pid_file

    def _write_pid(self, pid: int) -> None:
        assert self._owned_pid_file is not None
        self._owned_pid_file.seek(0)
        self._owned_pid_file.truncate()
        self._owned_pid_file.write(f"{pid}\n")
        self._owned_pid_file.flush()

    async def _stop_leftovers(self) -> None:
        """Stops any dev server still running on our database file. No server owns it (we hold the
        lock), and it may be another version with other settings. Found by its command line rather
        than by temporal.pid, which an older durastack did not write."""
        leftovers = [process for process in psutil.process_iter(["cmdline"])
                     if self._serves_our_database(process.info["cmdline"] or [])]
        for process in leftovers:
            await self._stop_leftover(process)
        if leftovers:
            # /proc shows a zombie once its main thread has exited; its sockets close with its last thread.
            await _poll(lambda: not self._taken_ports(), STOP_TIMEOUT)

    async def _stop_leftover(self, process: psutil.Process) -> None:
        log.warning("stopping the temporal dev server an earlier start left running", pid=process.pid,
                    db_file=str(self.db_file))
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
        if not await _exited(process, STOP_TIMEOUT):
            log.warning("the leftover temporal dev server ignored SIGTERM; killing it", pid=process.pid)
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
            if not await _exited(process, STOP_TIMEOUT):
                raise TemporalStartError(f"could not stop the leftover Temporal dev server (pid {process.pid})")

    def _serves_our_database(self, command: list[str]) -> bool:
        if "start-dev" not in command or "--db-filename" not in command[:-1]:
            return False
        return Path(command[command.index("--db-filename") + 1]).resolve() == self.db_file

    def _taken_ports(self) -> list[int]:
        return [port for port in (self.port, self.ui_port) if port is not None and not _port_free(port)]

    async def _spawn(self) -> None:
        """Starts a child and waits until it accepts connections; TemporalStartError if it doesn't."""
        taken = self._taken_ports()
        if taken:
            raise TemporalStartError(f"port {taken[0]} on 127.0.0.1, which the embedded Temporal server needs, "
                                     "is in use by another process; stop it, or choose other ports with "
                                     "DURASTACK_TEMPORAL_PORT and DURASTACK_TEMPORAL_UI_PORT")
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with open(self.log_file, "ab") as output:  # noqa: ASYNC230 - a local file, once per start
            self._process = process = await asyncio.create_subprocess_exec(
                *dev_server_command(self.db_file, self.port, self.ui_port), stdin=subprocess.DEVNULL,
                stdout=output, stderr=output, start_new_session=True, preexec_fn=_die_with_this_thread())
        self._write_pid(process.pid)
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
        while not await _accepts(self.port):
            if process.returncode is not None:
                raise TemporalStartError(f"the Temporal dev server exited with code {process.returncode}: "
                                         f"{self._log_tail(log_offset)}")
            if asyncio.get_running_loop().time() > deadline:
                process.kill()
                raise TemporalStartError(f"the Temporal dev server did not open port {self.port} within "
                                         f"{READY_TIMEOUT:g} s; see {self.log_file}")
            await asyncio.sleep(0.1)
        self._set("running", pid=process.pid)
        log.info("temporal dev server running", pid=process.pid, port=self.port, ui_port=self.ui_port,
                 db_file=str(self.db_file))

    def _log_tail(self, offset: int) -> str:
        """The child's last lines (temporal.log): why it exited, as it said it."""
        with open(self.log_file, "rb") as file:
            file.seek(offset)
            lines = file.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:]) or f"nothing in {self.log_file}"

    async def _restart_forever(self) -> None:
        loop = asyncio.get_running_loop()
        delay = FIRST_RESTART_DELAY
        while True:
            assert self._process is not None
            up_since = loop.time()
            code = await self._process.wait()
            if loop.time() - up_since >= STABLE_SECONDS:
                delay = FIRST_RESTART_DELAY
            log.error("temporal dev server exited; restarting it", pid=self._process.pid, exit_code=code,
                      restart_in=delay)
            self.state = replace(self.state, last_exit_code=code)
            self._set("restarting", pid=None)
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RESTART_DELAY)
                try:
                    await self._spawn()
                    break
                except TemporalStartError as error:
                    log.error("temporal dev server restart failed", error=str(error), restart_in=delay)
                    self._set("failed", pid=None)
            self.state = replace(self.state, restarts=self.state.restarts + 1)
            log.info("temporal dev server restarted", pid=self._process.pid, restarts=self.state.restarts)


def _die_with_this_thread() -> Callable[[], None] | None:
    """A preexec_fn (it runs in the child between fork and exec) that has the kernel SIGKILL the
    child when the thread that forked it ends: the event loop's thread, so when this process ends,
    however it ends. Never spawn from another thread (asyncio.to_thread): the child would die with
    that thread. SIGKILL rather than SIGTERM so that a child that hangs on shutdown can't stay; its
    SQLite is in WAL mode, where a killed process loses no commit.
    Linux only; elsewhere a leftover child is stopped by the next start."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child only calls it
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
        if os.getppid() != parent:  # the server died before prctl: nobody would kill us later
            os._exit(1)

    return preexec


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As the dev server binds: connections of an earlier child in TIME_WAIT don't hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def _exited(process: psutil.Process, timeout: float) -> bool:
    # Not psutil's wait(): a process that isn't our child is polled, and a zombie counts as alive there.
    return await _poll(lambda: not _alive(process), timeout)


async def _poll(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether `condition` came true within `timeout` seconds (what happens elsewhere has no event)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True
