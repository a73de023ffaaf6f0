"""HTTP routes: parse, authorize, call a service, shape the answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK

from api.auth import ProjectAccess, authenticate, project_access
from api.schemas import (
    ApplyRunRequest,
    DeleteRunsRequest,
    GetRunRequest,
    JobLogs,
    JobMetrics,
    ListAllRunsRequest,
    ListRunsRequest,
    PollLogsRequest,
    Run,
    RunOutcomes,
    RunPlan,
    RunPlanRequest,
    RunStats,
    ScaleRunsRequest,
    StopRunsRequest,
)
from api.services.logs import LogService, encode_token
from api.services.metrics import MetricsService
from api.services.run_commands import RunCommands
from api.services.runs import RunService
from store.accounts import Accounts, User


async def provide_access(request: Request[Any, Any, Any], accounts: Accounts, project_name: str) -> ProjectAccess:
    return await project_access(request, accounts, project_name)


class RunsController(Controller):
    path = "/api/project/{project_name:str}/runs"
    tags = ["runs"]
    dependencies = {"access": Provide(provide_access)}

    @post("/apply", status_code=HTTP_200_OK, summary="Submit a run")
    async def apply(self, access: ProjectAccess, data: ApplyRunRequest, run_service: RunService) -> Run:
        return await run_service.apply(access, data.run_spec)

    @post("/get_plan", status_code=HTTP_200_OK, summary="What apply would do with a configuration")
    async def get_plan(self, access: ProjectAccess, data: RunPlanRequest, run_service: RunService) -> RunPlan:
        return await run_service.plan(access, data.run_spec)

    @post("/get", status_code=HTTP_200_OK,
          summary="Get a run: by name, the latest run of that name that is not deleted; by id, any run")
    async def get_run(self, access: ProjectAccess, data: GetRunRequest, run_service: RunService) -> Run:
        return await run_service.get(access, run_name=data.run_name, run_id=data.id)

    @post("/list", status_code=HTTP_200_OK, summary="List runs, newest first")
    async def list_runs(self, access: ProjectAccess, data: ListRunsRequest, run_service: RunService) -> list[Run]:
        return await run_service.list_runs(access, data)

    @post("/stop", status_code=HTTP_200_OK, summary="Stop (or abort) many runs, by name or id, with one request")
    async def stop(self, access: ProjectAccess, data: StopRunsRequest, run_commands: RunCommands) -> RunOutcomes:
        return RunOutcomes(results=await run_commands.stop(access, data.runs_names, data.abort))

    @post("/scale", status_code=HTTP_200_OK, summary="Scale many services, by name or id, with one request")
    async def scale(self, access: ProjectAccess, data: ScaleRunsRequest, run_commands: RunCommands) -> RunOutcomes:
        return RunOutcomes(results=await run_commands.scale(access, data.runs_names, data.replicas))

    @post("/delete", status_code=HTTP_200_OK, summary="Delete finished runs (they stay in history)")
    async def delete(self, access: ProjectAccess, data: DeleteRunsRequest, run_commands: RunCommands) -> RunOutcomes:
        return RunOutcomes(results=await run_commands.delete(access, data.runs_names))


class AllRunsController(Controller):
    path = "/api/runs"
    tags = ["runs"]
    dependencies = {"caller": Provide(authenticate)}

    @post("/list", status_code=HTTP_200_OK,
          summary="List runs of every project the caller may see (all of them for a global admin), newest first")
    async def list_runs(self, caller: User, data: ListAllRunsRequest, run_service: RunService) -> list[Run]:
        return await run_service.list_all(caller, data)


class LogsController(Controller):
    path = "/api/project/{project_name:str}/logs"
    tags = ["logs"]
    dependencies = {"access": Provide(provide_access)}

    @post("/poll", status_code=HTTP_200_OK, summary="A page of one replica's log lines")
    async def poll(self, access: ProjectAccess, data: PollLogsRequest, log_service: LogService) -> JobLogs:
        run = await log_service.find_run(access, data.run_name, data.run_id)
        return await log_service.poll(run, data.replica_num, data.submission_num, data.next_token, data.limit)

    @get("/follow", summary="Live log lines of one replica (Server-Sent Events)")
    async def follow(self, access: ProjectAccess, log_service: LogService, run_name: str | None = None,
                     run_id: str | None = None, replica_num: int = 0, submission_num: int | None = None,
                     next_token: str | None = None) -> ServerSentEvent:
        run = await log_service.find_run(access, run_name, run_id if run_name is None else None)

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            async for event in log_service.follow(run, replica_num, submission_num, next_token):
                yield ServerSentEventMessage(data=event.model_dump_json(), event="log",
                                             id=encode_token(event.submission_num, event.offset))
            yield ServerSentEventMessage(data=json.dumps({"run_id": run.id}), event="end")

        return ServerSentEvent(events())


class MetricsController(Controller):
    path = "/api/project/{project_name:str}/metrics"
    tags = ["metrics"]
    dependencies = {"access": Provide(provide_access)}

    @get("/job/{run_name:str}", summary="CPU and memory series of one replica (every submission), oldest first; "
                                        "run_id picks one run of the name (deleted or replaced ones too)")
    async def job(self, access: ProjectAccess, run_name: str, metrics_service: MetricsService,
                  replica_num: int = Parameter(default=0, ge=0),
                  limit: int = Parameter(default=100, ge=1, le=10_000),
                  after: datetime | None = None, run_id: str | None = None) -> JobMetrics:
        return await metrics_service.job_metrics(access, run_name, replica_num, limit=limit, after=after,
                                                 run_id=run_id)

    @get("/run/{run_name:str}", summary="The latest CPU and memory of each replica running now")
    async def run(self, access: ProjectAccess, run_name: str, metrics_service: MetricsService) -> RunStats:
        return await metrics_service.run_stats(access, run_name)
