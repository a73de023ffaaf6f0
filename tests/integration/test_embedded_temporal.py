"""`durastack server` owns its Temporal dev server: restarts it when it dies, takes it down when the
server dies, replaces one an earlier start left behind, refuses a port someone else holds, and
reports all of it on GET /api/health. Real processes throughout: the server as a subprocess with
its own state directory, ports and HOME, on the default SQLite database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest

from server.temporal import start_dev_server
from tests.support.cleanup import job_workspaces, kill_jobs
from tests.support.durastack import REPO, ApiClient, DurastackProcesses
from tests.support.ports import free_port
from tests.support.temporal import TemporalDevServer

pytestmark = pytest.mark.integration

T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """Polls `condition` until it returns something truthy, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def bound(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def task(name: str, *commands: str) -> dict[str, Any]:
    return {"type": "task", "name": name, "commands": list(commands),
            "resources": {"cpu": 0.1, "memory": "16MB"}}


class EmbeddedServer:
    """`durastack server` with the embedded Temporal dev server, started and killed at will."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server_dir = directory / "server"
        self.temporal_port, self.port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = uuid.uuid4().hex
        self.workspaces = job_workspaces()  # jobs' homes, reachable by job users (as root)
        inherited = {name: value for name, value in os.environ.items()
                     if not name.startswith(("DURASTACK_", "TEMPORAL_")) and name != "DATABASE_URL"}
        self.env = {**inherited, "HOME": str(directory / "home"), "DURASTACK_SERVER_DIR": str(self.server_dir),
                    "DURASTACK_TEMPORAL_PORT": str(self.temporal_port),
                    "DURASTACK_TEMPORAL_UI_PORT": str(free_port()), "DURASTACK_SERVER_PORT": str(self.port),
                    "DURASTACK_SERVER_ADMIN_TOKEN": self.token, "DURASTACK_HOST_ID": f"test-{self.token[:8]}",
                    "DURASTACK_WORKSPACES_DIR": str(self.workspaces)}
        self.command = [sys.executable, "-m", "cli.main", "server"]
        self.log_path = directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Starts the server and waits until its health endpoint says ok."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=REPO, env=self.env, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        process = self.process

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"durastack server exited: {self.log()[-3000:]}")
            try:
                return self.health().status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, "the server's health endpoint to answer 200", timeout=60)

    def run_to_exit(self, **env: str) -> subprocess.CompletedProcess[str]:
        """Runs another server with this one's settings (and `env`), for one that should not start."""
        return subprocess.run(self.command, cwd=REPO, env={**self.env, **env}, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)

    def health(self, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.url}/api/health", headers=headers, timeout=10)

    def components(self) -> dict[str, Any]:
        response = self.health(self.token)
        return {"status_code": response.status_code, **response.json()["components"]}

    def temporal_pid(self) -> int:
        return int((self.server_dir / "temporal.pid").read_text())

    def client(self) -> ApiClient:
        return ApiClient(self.url, self.token)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        kill_jobs(self.server_dir / "jobs")
        shutil.rmtree(self.workspaces, ignore_errors=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    embedded = EmbeddedServer(tmp_path)
    yield embedded
    pid_file = embedded.server_dir / "temporal.pid"
    child = int(pid_file.read_text()) if pid_file.exists() and pid_file.read_text().strip() else None
    embedded.stop()
    # Whether the server was stopped here or killed by the test, its Temporal child went with it.
    if child is not None and alive(child):
        os.kill(child, signal.SIGKILL)
        pytest.fail(f"the Temporal dev server {child} outlived its durastack server")


def test_a_killed_temporal_server_is_restarted_and_runs_carry_on(server: EmbeddedServer) -> None:
    server.start()
    api = server.client()
    first = server.temporal_pid()
    api.apply(task("before", "echo started", "sleep 4", "echo finished"))
    api.wait_for("before", lambda run: run["status"] == "running", what="running")

    os.kill(first, signal.SIGKILL)
    health = wait_until(lambda: (c := server.components())["status_code"] == 200
                        and c["embedded_temporal"]["pid"] != first and c, "a restarted, healthy Temporal")
    assert health["embedded_temporal"] | {"since": None} == {
        "status": "running", "pid": server.temporal_pid(), "restarts": 1, "last_exit_code": -signal.SIGKILL,
        "since": None}
    assert alive(health["embedded_temporal"]["pid"])
    assert "temporal dev server exited; restarting it" in server.log()

    # The client and the workers found the new server on their own: the running run ends as it
    # should, in its query and in the list, and a new run goes through.
    before = api.wait_finished("before", timeout=60)
    assert before["status"] == "done"
    assert [line["message"] for line in api.logs("before", 0)] == ["started", "finished"]
    assert [(run["run_name"], run["status"]) for run in api.ok("runs/list", {})] == [("before", "done")]
    api.apply(task("after", "echo hi"))
    assert api.wait_finished("after", timeout=60)["status"] == "done"
    assert [line["message"] for line in api.logs("after", 0)] == ["hi"]


def test_b_the_temporal_server_dies_with_a_killed_durastack_server(server: EmbeddedServer) -> None:
    server.start()
    child = server.temporal_pid()
    server.kill()
    wait_until(lambda: not alive(child), "the Temporal child to die with its server", timeout=5)
    wait_until(lambda: not accepts(server.temporal_port), "the Temporal port to close", timeout=5)


def test_c_a_leftover_temporal_server_is_stopped_and_replaced(server: EmbeddedServer) -> None:
    # What an earlier start leaves behind where the kernel can't kill it: a dev server on the same
    # database file and port that nothing supervises, named by temporal.pid (the server finds it by
    # its command line, so one from an older durastack, which wrote no temporal.pid, goes too).
    server.server_dir.mkdir(parents=True)
    leftover = start_dev_server(server.server_dir / "temporal.db", server.temporal_port, None,
                                server.server_dir / "temporal.log")
    try:
        wait_until(lambda: accepts(server.temporal_port), "the leftover to open its port")
        (server.server_dir / "temporal.pid").write_text(f"{leftover.pid}\n")

        server.start()
        assert leftover.wait(timeout=15) is not None
        (stopped,) = [line for line in server.log().splitlines()
                      if "stopping the temporal dev server an earlier start left running" in line]
        assert f"pid={leftover.pid}" in stopped
        child = server.temporal_pid()
        assert child != leftover.pid and server.components()["embedded_temporal"]["pid"] == child
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()

    # A second server on the same state directory is refused; it does not take the child away.
    refused = server.run_to_exit(DURASTACK_SERVER_PORT=str(free_port()))
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        f"durastack server: another durastack server is running with the state directory {server.server_dir}; "
        "stop it or set DURASTACK_SERVER_DIR")
    assert server.temporal_pid() == child and alive(child)


def test_d_a_temporal_port_held_by_another_process_fails_the_start(server: EmbeddedServer) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", server.temporal_port))
        holder.listen()
        result = server.run_to_exit()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"durastack server: port {server.temporal_port} on 127.0.0.1, which the embedded Temporal server "
        "needs, is in use by another process; stop it, or choose other ports with DURASTACK_TEMPORAL_PORT "
        "and DURASTACK_TEMPORAL_UI_PORT")
    assert "embedded temporal server could not start" in result.stderr  # the log event, for log readers
    assert "Traceback" not in result.stderr


def test_e_health_is_anonymous_status_or_details_with_a_token(server: EmbeddedServer) -> None:
    server.start()
    anonymous = server.health()
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "ok"})
    assert server.health("not-a-token").status_code == 401
    details = server.health(server.token).json()
    assert details["status"] == "ok"
    assert {name: component["ok"] for name, component in details["components"].items()
            if name != "embedded_temporal"} == {"database": True, "temporal": True, "workers": True}
    assert details["components"]["embedded_temporal"]["status"] == "running"

    # A Temporal server that doesn't answer (stopped, not dead: the supervisor has nothing to
    # restart) makes the endpoint answer 503, to anonymous callers too.
    child = server.temporal_pid()
    os.kill(child, signal.SIGSTOP)
    try:
        down = server.health()
        assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
        components = server.components()
        assert components["status_code"] == 503
        assert not components["temporal"]["ok"] and components["database"]["ok"]
    finally:
        os.kill(child, signal.SIGCONT)
    wait_until(lambda: server.health().status_code == 200, "health to recover")
    assert server.components()["embedded_temporal"]["restarts"] == 0

    schema = httpx.get(f"{server.url}/schema/openapi.json", timeout=10).json()
    responses = schema["paths"]["/api/health"]["get"]["responses"]
    assert {"200", "503"} <= set(responses)


def test_f_a_restart_that_cant_bind_is_retried_until_it_can(server: EmbeddedServer) -> None:
    server.start()
    assert server.process is not None
    child = server.temporal_pid()
    # The server is held still while its child dies and another process takes the port, so that its
    # first restart finds the port taken.
    server.process.send_signal(signal.SIGSTOP)
    holder = socket.socket()
    try:
        os.kill(child, signal.SIGKILL)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the old child's connections linger
        # The port is free once the child's last thread has exited.
        wait_until(lambda: bound(holder, server.temporal_port), "the killed child's port to be free")
        holder.listen()
    finally:
        server.process.send_signal(signal.SIGCONT)
    with holder:
        failed = wait_until(lambda: (c := server.components())["embedded_temporal"]["status"] == "failed" and c,
                            "a failed restart")
        assert failed["status_code"] == 503 and not failed["temporal"]["ok"]
        assert failed["embedded_temporal"]["pid"] is None
        assert server.health().json() == {"status": "unavailable"}
    healthy = wait_until(lambda: (c := server.components())["status_code"] == 200 and c, "a later restart")
    assert healthy["embedded_temporal"] | {"since": None, "pid": None} == {
        "status": "running", "pid": None, "restarts": 1, "last_exit_code": -signal.SIGKILL, "since": None}
    assert f"port {server.temporal_port} on 127.0.0.1, which the embedded Temporal server needs, is in use" \
        in server.log()


@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)  # the check is the same on both
def test_g_an_api_alone_reports_the_workers_polling_its_task_queue(
        tmp_path: Path, temporal: TemporalDevServer, new_database_url: Callable[[], str]) -> None:
    deployment = DurastackProcesses(tmp_path, temporal.address, new_database_url())
    try:
        deployment.start_api()  # its task queue is its own, and no worker polls it yet
        response = httpx.get(f"{deployment.url}/api/health", headers={"Authorization": f"Bearer {deployment.token}"},
                             timeout=10)
        assert response.status_code == 503
        components = response.json()["components"]
        assert (components["database"]["ok"], components["temporal"]["ok"], components["workers"]["ok"]) == (
            True, True, False)
        assert components["workers"]["detail"].startswith("no worker polled task queue durastack-test-")
        assert components["embedded_temporal"] is None

        deployment.start_worker()
        wait_until(lambda: httpx.get(f"{deployment.url}/api/health", timeout=10).status_code == 200,
                   "the worker's first poll")
    finally:
        deployment.stop()
