"""Configuration of a local host: what it advertises and where job files live."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import psutil
from pydantic import Field, field_validator

from backends.base import BackendConfig
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
    jobs_dir: Path

    @field_validator("memory_mb", mode="before")
    @classmethod
    def _parse_memory(cls, value: object) -> int:
        return parse_memory_mb(value)
