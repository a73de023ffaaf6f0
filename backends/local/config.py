"""Configuration of a local host: what it advertises and where job files live."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import psutil
from pydantic import Field, field_validator, model_validator

from backends.base import BackendConfig
from backends.local.job_users import POOL_SIZE, can_separate_users
from core.units import parse_memory_mb


def _default_host_id() -> str:
    return "local-" + re.sub(r"[^a-z0-9-]", "-", socket.gethostname().lower())[:60]


class LocalConfig(BackendConfig):
    host_id: str = Field(default_factory=_default_host_id, pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    name: str = Field(default_factory=socket.gethostname)
    cpus: float = Field(default_factory=lambda: float(os.cpu_count() or 1), gt=0)
    memory_mb: int = Field(default_factory=lambda: psutil.virtual_memory().total // (1024 * 1024), gt=0,
                           alias="memory")
    price_per_hour: float = Field(default=0.0, ge=0)
    address: str = Field(default="127.0.0.1", min_length=1, max_length=253,
                         description="where the API's proxy reaches this host's service replicas")
    jobs_dir: Path  # the runners' files: private to the server
    # Each job a Unix user of its own (root only); off: single-user mode, jobs run as the server's user.
    isolate_jobs: bool = Field(default_factory=can_separate_users)
    job_uid_base: int = Field(default=1_900_000_000, ge=1000, le=2**31 - 1 - POOL_SIZE)
    # Jobs' homes and relative working dirs. Isolated jobs must reach theirs, so it can't be under
    # the private state directory; the default is outside it.
    workspaces_dir: Path | None = None

    @model_validator(mode="after")
    def _isolation_needs_root(self) -> LocalConfig:
        if self.isolate_jobs and not can_separate_users():
            raise ValueError("isolate_jobs needs the worker to run as root")
        return self

    @property
    def resolved_workspaces_dir(self) -> Path:
        if self.workspaces_dir is not None:
            return self.workspaces_dir
        return Path("/var/lib/durastack-workspaces") if self.isolate_jobs else self.jobs_dir.parent / "workspaces"

    @field_validator("memory_mb", mode="before")
    @classmethod
    def _parse_memory(cls, value: object) -> int:
        return parse_memory_mb(value)
