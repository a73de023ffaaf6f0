"""HTTP routes of fleets and instances (dstack's paths)."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK

from api.auth import ProjectAccess, authenticate
from api.controllers import provide_access
from api.errors import NOT_FOUND_ERRORS, error_responses
from api.fleet_schemas import (
    ApplyFleetRequest,
    DeleteFleetsRequest,
    Fleet,
    GetFleetRequest,
    Instance,
    ListFleetsRequest,
    ListInstancesRequest,
)
from api.openapi import BEARER_TOKEN
from api.services.fleets import FleetService
from store.accounts import User

# 403: not a project admin or manager; 409: the name is taken, or the fleet is being deleted;
# 503: Temporal did not take the fleet's workflow.
CHANGE_ERRORS = error_responses(403, 404, 409, 503)


class FleetsController(Controller):
    path = "/api/project/{project_name:str}/fleets"
    tags = ["fleets"]
    security = BEARER_TOKEN
    dependencies = {"access": Provide(provide_access)}

    @post("/list", status_code=HTTP_200_OK, responses=NOT_FOUND_ERRORS,
          summary="The fleets the project may use (shared ones and its own), each with its instances")
    async def list_fleets(self, access: ProjectAccess, data: ListFleetsRequest,
                          fleet_service: FleetService) -> list[Fleet]:
        return await fleet_service.list_fleets(access, include_terminated=data.include_terminated)

    @post("/get", status_code=HTTP_200_OK, summary="A fleet and its instances", responses=NOT_FOUND_ERRORS)
    async def get_fleet(self, access: ProjectAccess, data: GetFleetRequest, fleet_service: FleetService) -> Fleet:
        return await fleet_service.get_fleet(access, data.name)

    @post("/apply", status_code=HTTP_200_OK, responses=CHANGE_ERRORS,
          summary="Create an SSH fleet, or set an existing one up again (project admins and managers)",
          description="Needs the server on PostgreSQL (400 on SQLite). The fleet answers `submitted` with its "
                      "hosts `provisioning`; its workflow sets each host up over SSH, and the fleet becomes "
                      "`active` (or `failed`, with a status message naming each host and why).")
    async def apply(self, access: ProjectAccess, data: ApplyFleetRequest, fleet_service: FleetService) -> Fleet:
        return await fleet_service.apply(access, data.spec)

    @post("/delete", status_code=HTTP_200_OK, responses=CHANGE_ERRORS,
          summary="Delete SSH fleets (project admins and managers): their runs are stopped, then their workers",
          description="The fleets and their hosts answer `terminating`; they end `terminated` once the runs on "
                      "them have released their instances and the workers are stopped.")
    async def delete(self, access: ProjectAccess, data: DeleteFleetsRequest,
                     fleet_service: FleetService) -> list[Fleet]:
        return await fleet_service.delete(access, data.names)


class InstancesController(Controller):
    path = "/api/instances"
    tags = ["fleets"]
    security = BEARER_TOKEN
    dependencies = {"caller": Provide(authenticate)}

    @post("/list", status_code=HTTP_200_OK, responses=NOT_FOUND_ERRORS,
          summary="Instances (hosts) of the fleets the caller's projects may use")
    async def list_instances(self, caller: User, data: ListInstancesRequest,
                             fleet_service: FleetService) -> list[Instance]:
        return await fleet_service.list_instances(caller, data)
