"""An embedded durastack (`durastack server`) in a temporary directory, for benchmarks."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from tests.support.cleanup import kill_jobs
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]


class EmbeddedStack:
    """`database_url` (SQLite or PostgreSQL) replaces the default SQLite file
    DURASTACK_SERVER_DIR/durastack.db. `keep_log` is where server.log is copied on exit, before the
    temporary directory is deleted. `extra_env` is added to the server's environment."""

    def __init__(self, cpus: float, memory: str, database_url: str | None = None,
                 keep_log: Path | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.keep_log = keep_log
        self.directory = Path(tempfile.mkdtemp(prefix="durastack-bench-"))
        self.port = free_port()
        self.token = uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HOME": str(self.directory),
            "DURASTACK_SERVER_DIR": str(self.directory / "server"),
            "DURASTACK_SERVER_ADMIN_TOKEN": self.token,
            "DURASTACK_SERVER_PORT": str(self.port),
            "DURASTACK_TEMPORAL_PORT": str(free_port()),
            "DURASTACK_TEMPORAL_UI_PORT": str(free_port()),
            "DURASTACK_HOST_CPUS": str(cpus),
            "DURASTACK_HOST_MEMORY": memory,
            "DURASTACK_LOG_LEVEL": "WARNING",
            "DURASTACK_RATE_LIMIT": "0",  # benchmarks send thousands of requests with one token
        }
        self.env.pop("TEMPORAL_ADDRESS", None)
        if database_url is None:
            self.env.pop("DATABASE_URL", None)
        else:
            self.env["DATABASE_URL"] = database_url
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmbeddedStack:
        log = open(self.directory / "server.log", "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "server"], cwd=REPO, env=self.env,
                                        stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/schema/openapi.json", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start; see {self.directory / 'server.log'}")

    def rss_mb(self) -> tuple[float, float]:
        """RSS of the server process (API + workers), and of all replica runner processes."""
        assert self.process is not None
        server = psutil.Process(self.process.pid).memory_info().rss / 2**20
        runners = 0.0
        for process in psutil.process_iter(["cmdline", "memory_info"]):
            if str(self.directory) in " ".join(process.info["cmdline"] or []) and "runner" in " ".join(
                    process.info["cmdline"] or []):
                runners += process.info["memory_info"].rss / 2**20
        return server, runners

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user + system) used so far by the server process and by its Temporal dev server."""
        assert self.process is not None
        server = psutil.Process(self.process.pid)
        temporal = 0.0
        for child in server.children():
            with contextlib.suppress(psutil.Error):
                if "temporal" in child.name():
                    times = child.cpu_times()
                    temporal += times.user + times.system
        times = server.cpu_times()
        return times.user + times.system, temporal

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def log_problems(self) -> dict[str, int]:
        """How often the server log (so far) has a traceback, "database is locked", and lines at
        level error and warning (the stack logs at WARNING)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        lines = text.splitlines()
        return {"Traceback": text.count("Traceback"), "database is locked": text.count("database is locked"),
                "error lines": sum(1 for line in lines if "[error" in line),
                "warning lines": sum(1 for line in lines if "[warning" in line)}

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.process is not None:
            # The server stops its Temporal dev server itself, unless it has to be killed: then
            # the dev server would be left running, so it is stopped here.
            children: list[psutil.Process] = []
            with contextlib.suppress(psutil.Error):
                children = psutil.Process(self.process.pid).children()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for child in children:
                with contextlib.suppress(psutil.Error):
                    child.terminate()
            psutil.wait_procs(children, timeout=10)
        kill_jobs(self.directory / "server" / "jobs")
        if self.keep_log is not None and self.log_path.exists():
            shutil.copyfile(self.log_path, self.keep_log)
        shutil.rmtree(self.directory, ignore_errors=True)
