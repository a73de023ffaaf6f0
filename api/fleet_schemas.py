"""Request and response bodies of fleets and instances, named as dstack names them. The CLI sends
and reads these models too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.fields import Flag, ProjectName
from core.configuration import FLEET_NAME_PATTERN
from core.statuses import FleetStatus, InstanceStatus

FleetName = Annotated[str, StringConstraints(pattern=FLEET_NAME_PATTERN)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FleetSpec(_Request):
    configuration: dict[str, Any] = Field(description=(
        "a fleet configuration (`type: fleet`, `name`, `ssh_config`); each private key as its text in "
        "`ssh_key.private`, never a file name: the server reads no client's files"))


class ApplyFleetRequest(_Request):
    """Creates the SSH fleet, or sets an existing one up again (its workers restart)."""

    spec: FleetSpec


class ListFleetsRequest(_Request):
    include_terminated: Flag = Field(default=False, description="also fleets that were deleted")


class GetFleetRequest(_Request):
    name: FleetName


class DeleteFleetsRequest(_Request):
    names: list[FleetName] = Field(min_length=1, max_length=100)


class ListInstancesRequest(_Request):
    project_names: list[ProjectName] | None = Field(
        default=None, max_length=1000, description="only instances these projects may use; default: every project "
                                                   "of the caller's")
    fleet_names: list[FleetName] | None = Field(default=None, max_length=1000,
                                                description="only these fleets' instances")
    include_terminated: Flag = False


class InstanceGpu(BaseModel):
    index: int
    name: str
    memory_mb: int


class InstanceResources(BaseModel):
    cpus: float
    memory_mb: int
    gpus: list[InstanceGpu]


class InstanceJob(BaseModel):
    """A job submission holding a slice of the instance."""

    project_name: str
    run_name: str
    run_id: str
    replica_num: int | None = Field(description="null until the run's projection names the submission")
    submission_num: int | None
    submission_id: str


class Instance(BaseModel):
    """A host, as dstack's instances are shown."""

    id: str = Field(description="the host id (DURASTACK_HOST_ID; `<fleet>-<index>` in an SSH fleet)")
    name: str = Field(description="the host's name: its hostname")
    fleet_id: str | None
    fleet_name: str | None
    project_name: str | None = Field(description="the project of its SSH fleet; null: a fleet every project shares")
    instance_num: int | None = Field(description="its position in the SSH fleet's hosts")
    backend: str
    status: InstanceStatus
    resources: InstanceResources = Field(description="what the host advertises")
    free: InstanceResources = Field(description="what no active job submission holds")
    price: float = Field(description="per hour")
    created: datetime
    last_seen_at: datetime | None = Field(description="its worker's latest heartbeat")
    jobs: list[InstanceJob] = Field(description="job submissions holding a slice of it, of projects the caller sees")


class Fleet(BaseModel):
    id: str
    name: str
    project_name: str | None = Field(description="null: a fleet of workers that joined it by name, shared by "
                                                 "every project")
    type: Literal["workers", "ssh"]
    status: FleetStatus
    status_message: str
    created_at: datetime
    configuration: dict[str, Any] | None = Field(description="an SSH fleet's configuration, without private keys")
    instances: list[Instance]
