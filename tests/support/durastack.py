"""durastack as real processes: `durastack api` and `durastack worker`, each killable."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.cleanup import job_workspaces, kill_jobs
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]


class DurastackProcesses:
    """One durastack deployment: its own database, task queue and host, sharing a Temporal server."""

    def __init__(self, directory: Path, temporal_address: str, database_url: str, **host: Any) -> None:
        self.directory = directory
        self.temporal_address = temporal_address
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}"
        suffix = uuid.uuid4().hex[:8]
        self.home = directory / "home"
        self.env = {
            **os.environ,
            "HOME": str(self.home),
            "TEMPORAL_ADDRESS": temporal_address,
            "DATABASE_URL": database_url,
            "DURASTACK_SERVER_DIR": str(directory / "server"),
            "DURASTACK_SERVER_ADMIN_TOKEN": self.token,
            "DURASTACK_SERVER_PORT": str(self.port),
            "DURASTACK_TASK_QUEUE": f"durastack-test-{suffix}",
            "DURASTACK_HOST_ID": f"test-{suffix}",
            "DURASTACK_HOST_CPUS": str(host.get("cpus", 16)),
            "DURASTACK_HOST_MEMORY": str(host.get("memory", "16GB")),
            "DURASTACK_HOST_PRICE": str(host.get("price", 0)),
            # The CLI's settings, so that subprocesses of tests talk to this deployment.
            "DURASTACK_URL": self.url,
            "DURASTACK_TOKEN": self.token,
            "DURASTACK_PROJECT": "main",
            # Tests make many requests with one token (50 clients at once in test_batches.py); the
            # limiter's own test turns it on with env={"DURASTACK_RATE_LIMIT": ...}.
            "DURASTACK_RATE_LIMIT": "0",
        }
        self.env.update(host.get("env", {}))  # any other setting, e.g. {"DURASTACK_ABORT_DEADLINE": "3"}
        if "isolate_jobs" in host:
            self.env["DURASTACK_ISOLATE_JOBS"] = str(host["isolate_jobs"]).lower()
        self.workspaces = job_workspaces()
        self.env["DURASTACK_WORKSPACES_DIR"] = str(self.workspaces)
        self.home.mkdir(parents=True, exist_ok=True)
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.hosts: dict[str, ExtraHost] = {}
        self.extra_apis: list[subprocess.Popen[bytes]] = []

    def _spawn(self, role: str, env: dict[str, str] | None = None, log_name: str = "") -> subprocess.Popen[bytes]:
        log = open(self.directory / f"{log_name or role}.log", "ab")  # noqa: SIM115 - owned by the child
        return subprocess.Popen([sys.executable, "-m", "cli.main", role], cwd=REPO, env=env or self.env,
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def add_api(self) -> ApiClient:
        """Another API process on its own port, beside the first (the API keeps no state)."""
        port = free_port()
        process = self._spawn("api", {**self.env, "DURASTACK_SERVER_PORT": str(port)}, log_name=f"api-{port}")
        self.extra_apis.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/schema/openapi.json", timeout=1)
                return ApiClient(url, self.token)
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = self.read_log(f"api-{port}")[-3000:]
                    raise RuntimeError(f"the second API did not answer: {log}") from None
                time.sleep(0.1)

    def add_host(self, host_id: str, *, cpus: float = 2, memory: str = "4GB", fleet: str = "local",
                 env: dict[str, str] | None = None) -> ExtraHost:
        """Another host: a `durastack worker` process with its own host id and state directory,
        on this deployment's database and task queue."""
        host = ExtraHost(self, host_id, {
            **self.env, "DURASTACK_HOST_ID": host_id, "DURASTACK_SERVER_DIR": str(self.directory / host_id),
            "DURASTACK_HOST_CPUS": str(cpus), "DURASTACK_HOST_MEMORY": memory, "DURASTACK_FLEET": fleet,
            **(env or {})})
        self.hosts[host_id] = host
        host.start()
        return host

    def start(self) -> None:
        self.start_worker()
        self.start_api()

    def start_api(self) -> None:
        self.api = self._spawn("api")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.api.poll() is not None:
                raise RuntimeError(f"durastack api exited: {self.read_log('api')[-3000:]}")
            try:
                httpx.get(f"{self.url}/schema/openapi.json", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("durastack api did not answer")

    def start_worker(self) -> None:
        self.worker = self._spawn("worker")

    def kill_worker(self) -> None:
        """SIGKILL: no graceful shutdown, as when a machine dies."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()

    def read_log(self, role: str) -> str:
        path = self.directory / f"{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for host in self.hosts.values():
            host.kill()
        for process in (self.api, self.worker, *self.extra_apis):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.api, self.worker, *self.extra_apis):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        kill_jobs(self.directory / "server" / "jobs")
        shutil.rmtree(self.workspaces, ignore_errors=True)

    def client(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.url, token or self.token)

    def cli(self, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`durastack ARGS` against this deployment, with no terminal (so it never asks)."""
        return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, env=env or self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


class ExtraHost:
    def __init__(self, deployment: DurastackProcesses, host_id: str, env: dict[str, str]) -> None:
        self.deployment, self.host_id, self.env = deployment, host_id, env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Returns once the host has joined its fleet (its worker logs it after registering)."""
        log = self.deployment.directory / f"{self.host_id}.log"
        joined_before = self._joined(log)
        self.process = self.deployment._spawn("worker", self.env, log_name=self.host_id)
        deadline = time.monotonic() + 60
        while self._joined(log) == joined_before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"host {self.host_id} did not join: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    @staticmethod
    def _joined(log: Path) -> int:
        return log.read_text(errors="replace").count("workers started") if log.exists() else 0

    def kill(self, *, with_jobs: bool = True) -> None:
        """SIGKILL of its worker, and of its jobs too, as when the machine dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        if with_jobs:
            kill_jobs(Path(self.env["DURASTACK_SERVER_DIR"]) / "jobs")


TERMINAL = {"done", "failed", "terminated"}


class ApiClient:
    def __init__(self, url: str, token: str, project: str = "main") -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.project = project

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/api/project/{self.project}/{path}", json=body)

    def ok(self, path: str, body: dict[str, Any]) -> Any:
        response = self.post(path, body)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def apply(self, configuration: dict[str, Any]) -> dict[str, Any]:
        return self.ok("runs/apply", {"run_spec": {"configuration": configuration}})

    def get(self, run_name: str | None = None, run_id: str | None = None) -> dict[str, Any]:
        body = {"run_name": run_name} if run_name else {"id": run_id}
        return self.ok("runs/get", body)

    def wait_for(self, run_name: str, condition: Any, timeout: float = 60, what: str = "") -> dict[str, Any]:
        """Polls `get` until `condition(run)` holds; fails with the last state seen."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.get(run_name)
            if condition(run):
                return run
            time.sleep(0.1)
        jobs = [(job["replica_num"], [(s["status"], s["termination_reason"], s["status_message"])
                                      for s in job["job_submissions"]]) for job in run.get("jobs", [])]
        raise AssertionError(f"run {run_name} never reached {what or condition}: "
                             f"status={run.get('status')} jobs={jobs}")

    def wait_finished(self, run_name: str, timeout: float = 60) -> dict[str, Any]:
        return self.wait_for(run_name, lambda run: run["status"] in TERMINAL, timeout, "a terminal status")

    def logs(self, run_name: str, replica_num: int, **extra: Any) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.ok("logs/poll", {"run_name": run_name, "replica_num": replica_num, "next_token": token,
                                         "limit": 100, **extra})
            lines += page["logs"]
            if not page["logs"]:
                return lines
            token = page["next_token"]
