"""All settings, read once from the environment (`durastack server --help` lists them)."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENVIRONMENT_HELP = {
    "DURASTACK_SERVER_DIR": "state directory: SQLite database, Temporal dev server file, job files "
                            "(default ~/.durastack/server)",
    "DURASTACK_SERVER_ADMIN_TOKEN": "fixed admin token; generated and saved in the state directory when absent",
    "DURASTACK_SERVER_HOST": "address the API listens on (default 127.0.0.1; --host)",
    "DURASTACK_SERVER_PORT": "port the API listens on (default 3000; --port)",
    "DURASTACK_PUBLIC_URL": "where clients reach the API, and services through its proxy (/proxy/services/...); "
                            "shown as each service's URL (default http://{host}:{port} of the API)",
    "DURASTACK_RATE_LIMIT": "API requests per second per token (per address without one) in each API process; "
                            "429 past it (default 100; 0: no limit)",
    "DATABASE_URL": "PostgreSQL URL (postgresql://user@host/db) instead of the embedded SQLite",
    "TEMPORAL_ADDRESS": "host:port of an existing Temporal server instead of the embedded dev server",
    "TEMPORAL_NAMESPACE": "Temporal namespace (default: default)",
    "DURASTACK_TEMPORAL_PORT": "gRPC port of the embedded Temporal dev server (default 7233)",
    "DURASTACK_TEMPORAL_UI_PORT": "Web UI port of the embedded Temporal dev server (default 8233)",
    "DURASTACK_TEMPORAL_UI_URL": "Temporal Web UI address for links (default: the embedded one)",
    "DURASTACK_TASK_QUEUE": "Temporal task queue of the run workflows (default durastack)",
    "DURASTACK_HOST_ID": "id of this machine as a host, unique among hosts (default local-<hostname>)",
    "DURASTACK_FLEET": "the fleet this host joins (default local); created by its first host",
    "DURASTACK_FLEET_DATABASE_URL": "the database URL SSH fleets' hosts are given (default DATABASE_URL): one "
                                    "they can reach",
    "DURASTACK_FLEET_TEMPORAL_ADDRESS": "the Temporal address SSH fleets' hosts are given (default "
                                        "TEMPORAL_ADDRESS): one they can reach",
    "DURASTACK_HOST_CPUS": "CPUs this host advertises (default: all)",
    "DURASTACK_HOST_MEMORY": "memory this host advertises, e.g. 16GB (default: all)",
    "DURASTACK_HOST_PRICE": "price per hour of this host (default 0)",
    "DURASTACK_HOST_ADDRESS": "where the API's proxy reaches this host's service replicas (default 127.0.0.1; "
                              "auto: the address this machine's hostname resolves to, as in a container)",
    "DURASTACK_ISOLATE_JOBS": "give each job a Unix user of its own (default: on when the worker runs as root; "
                              "off is single-user mode: jobs run as the server's user)",
    "DURASTACK_JOB_UID_BASE": "first uid of the job users dsjob0, dsjob1, ... (default 1900000000)",
    "DURASTACK_WORKSPACES_DIR": "where jobs get their homes (default /var/lib/durastack-workspaces with "
                                "isolated jobs, else DURASTACK_SERVER_DIR/workspaces)",
    "DURASTACK_ABORT_DEADLINE": "seconds an abort may take before the API ends the run without its workflow "
                                "(default 60)",
    "DURASTACK_LOG_LEVEL": "log level (default INFO)",
    "DURASTACK_LOG_JSON": "1 for JSON log lines",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DURASTACK_", extra="ignore")

    server_dir: Path = Field(default_factory=lambda: Path.home() / ".durastack" / "server")
    server_admin_token: str | None = None
    server_host: str = "127.0.0.1"
    server_port: int = 3000
    public_url: str | None = None
    rate_limit: int = Field(default=100, ge=0)  # api.app.DEFAULT_RATE_LIMIT
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    temporal_ui_url: str | None = None
    task_queue: str = "durastack"
    host_id: str | None = None
    fleet: str = Field(default="local", pattern=r"^[a-z][a-z0-9-]{0,40}$")
    fleet_database_url: str | None = None
    fleet_temporal_address: str | None = None
    host_cpus: float | None = None
    host_memory: str | None = None
    host_price: float = 0.0
    host_address: str = "127.0.0.1"
    isolate_jobs: bool | None = None
    job_uid_base: int | None = None
    workspaces_dir: Path | None = None
    abort_deadline: float = Field(default=60.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = False

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.server_dir / 'durastack.db'}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.server_host}:{self.server_port}").rstrip("/")

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def resolved_temporal_ui_url(self) -> str | None:
        if self.temporal_ui_url:
            return self.temporal_ui_url.rstrip("/")
        return f"http://127.0.0.1:{self.temporal_ui_port}" if self.embedded_temporal else None

    def local_backend_config(self) -> dict[str, object]:
        address = socket.gethostbyname(socket.gethostname()) if self.host_address == "auto" else self.host_address
        config: dict[str, object] = {"jobs_dir": self.server_dir / "jobs", "price_per_hour": self.host_price,
                                     "address": address}
        if self.host_id:
            config["host_id"] = self.host_id
        if self.host_cpus:
            config["cpus"] = self.host_cpus
        if self.host_memory:
            config["memory"] = self.host_memory
        optional = {"isolate_jobs": self.isolate_jobs, "job_uid_base": self.job_uid_base,
                    "workspaces_dir": self.workspaces_dir}
        return config | {key: value for key, value in optional.items() if value is not None}
