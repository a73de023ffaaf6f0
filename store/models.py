"""SQLAlchemy models. Backend types are plain text, so a new backend needs no migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[dict[str, Any]]: JSON, list[int]: JSON}


class UserModel(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    global_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TokenModel(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256; the token itself is never stored
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Written at most once a minute per token (store/accounts.py): a write per request would be too many.
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class ProjectModel(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A deleted project keeps its row for its runs' history, renamed so that its name is free again.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class MemberModel(Base):
    __tablename__ = "members"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    # Indexed on its own too: "the projects of a user" can't use the (project_id, user_id) key.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    project_role: Mapped[str] = mapped_column(String(20))


class FleetModel(Base):
    """A set of hosts. Fleets that workers join by name (`DURASTACK_FLEET`) serve every project;
    an SSH fleet applied in a project serves that project only."""

    __tablename__ = "fleets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), default=None)
    type: Mapped[str] = mapped_column(String(20))  # "workers" or "ssh"
    status: Mapped[str] = mapped_column(String(20))  # core.statuses.FleetStatus
    status_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # an SSH fleet's configuration
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HostModel(Base):
    __tablename__ = "hosts"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    backend_type: Mapped[str] = mapped_column(String(50))
    task_queue: Mapped[str] = mapped_column(String(200))
    cpu_milli: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    price_per_hour: Mapped[float] = mapped_column(Float, default=0.0)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    fleet_id: Mapped[str | None] = mapped_column(ForeignKey("fleets.id"), default=None)
    # "active" while its worker heartbeats, "unreachable" once silent past the bound,
    # "terminating"/"terminated" when its fleet removes it (core.statuses.HostState).
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    gpus: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)  # core.gpus.Gpu each


class InstanceModel(Base):
    """A slice of a host held by one job submission until released. A submission released
    before it got a slice keeps a row without a host, so a late allocation for it is refused."""

    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(String(36), unique=True)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"))
    cpu_milli: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    price_per_hour: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    gpu_indices: Mapped[list[int] | None] = mapped_column(JSON, default=None)  # the host's GPUs it holds

    __table_args__ = (Index("ix_instances_host_active", "host_id", "released_at"),)


class RunModel(Base):
    """Projection of a run for lists and history; the live truth is the workflow's query."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    run_name: Mapped[str] = mapped_column(String(100))
    workflow_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    status_message: Mapped[str] = mapped_column(Text, default="")
    termination_reason: Mapped[str | None] = mapped_column(String(50), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    desired_replicas: Mapped[int] = mapped_column(Integer)
    running_replicas: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    configuration: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The YAML text the configuration was submitted as (when the client sent it): shown as written.
    configuration_yaml: Mapped[str | None] = mapped_column(Text, default=None)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    submitted_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the first abort of the run; see api/services/overdue_aborts.py.
    abort_requested_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        # A name is unique among the active runs of a project only.
        Index("uq_runs_active_name", "project_id", "run_name", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
        Index("ix_runs_project_submitted", "project_id", "submitted_at", "id"),
        Index("ix_runs_project_name", "project_id", "run_name"),
    )


class JobSubmissionModel(Base):
    """A finished submission that its run's state let go when the run continued as new; the
    submissions still in the state are in `runs.state`."""

    __tablename__ = "job_submissions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36))
    replica_num: Mapped[int] = mapped_column(Integer)
    submission_num: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the JobSubmission

    __table_args__ = (Index("ix_job_submissions_run", "run_id", "replica_num", "submission_num"),)


class CodeBlobModel(Base):
    """A configuration's directory as the CLI uploaded it (a tar.gz), by its sha256: hosts unpack
    it into each replica's working directory, and an unchanged directory is uploaded once."""

    __tablename__ = "code_blobs"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogLineModel(Base):
    __tablename__ = "log_lines"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    submission_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str] = mapped_column(String(36))
    replica_num: Mapped[int] = mapped_column(Integer)
    submission_num: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)  # byte offset in the replica's output
    timestamp: Mapped[datetime] = mapped_column()
    stream: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("submission_id", "offset", name="uq_log_lines_submission_offset"),
        Index("ix_log_lines_run_replica", "run_id", "replica_num", "submission_num", "offset"),
    )


class MetricsModel(Base):
    """CPU and memory of a job submission's processes, sampled by the watching activity."""

    __tablename__ = "metrics"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    submission_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str] = mapped_column(String(36))
    replica_num: Mapped[int] = mapped_column(Integer)
    submission_num: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column()
    cpu_percent: Mapped[float] = mapped_column(Float)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_metrics_run_replica_timestamp", "run_id", "replica_num", "timestamp"),
                      Index("ix_metrics_timestamp", "timestamp"))


class ServiceTrafficModel(Base):
    """Requests that one API process's proxy passed to a service run in one second. The
    autoscaler sums them over its window across processes; old seconds are pruned, but a run's
    latest is kept, so "no request for scale_down_delay" stays answerable (store/traffic.py)."""

    __tablename__ = "service_traffic"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Unix second
    process_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
