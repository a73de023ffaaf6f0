"""HTTP routes: parse, authorize, call a service, shape the answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Stream
from litestar.status_codes import HTTP_200_OK
from pydantic import TypeAdapter, ValidationError

from api.auth import ACCEPTS_QUERY_TOKEN, ProjectAccess, authenticate, project_access
from api.errors import NOT_FOUND_ERRORS, ApiError, error_responses
from api.fields import (
    LOG_TOKEN_PATTERN,
    MAX_REPLICA_NUM,
    MAX_SUBMISSION_NUM,
    PROJECT_NAME_PATTERN,
    TEXT_PATTERN,
    TIME_DESCRIPTION,
    TIME_PATTERN,
    UtcTime,
)
from api.openapi import BEARER_TOKEN, QUERY_TOKEN_TOO
from api.schemas import (
    ApplyRunRequest,
    DeleteRunsRequest,
    GetRunRequest,
    JobLogs,
    JobMetrics,
    ListAllRunsRequest,
    ListRunsRequest,
    LogStreamEvent,
    PollAllReplicasLogsRequest,
    PollLogsRequest,
    Run,
    RunOutcomes,
    RunPlan,
    RunPlanRequest,
    RunStats,
    ScaleRunsRequest,
    StopRunsRequest,
)
from api.services.log_cursors import decode_boundaries, decode_token, encode_token
from api.services.logs import LogService
from api.services.metrics import MetricsService
from api.services.run_commands import RunCommands
from api.services.runs import RunService
from core.configuration import RUN_NAME_PATTERN
from store.accounts import Accounts, User

# Stop, scale and delete answer each run's refusal in its outcome; apply refuses the whole request.
APPLY_ERRORS = error_responses(403, 404, 409, 503)


# Path and query parameters, with the patterns and bounds of their body counterparts (api/fields.py).
ProjectNameParameter = Annotated[str, Parameter(pattern=PROJECT_NAME_PATTERN)]
RunNameParameter = Annotated[str, Parameter(pattern=RUN_NAME_PATTERN)]
OptionalRunNameParameter = Annotated[str | None, Parameter(pattern=RUN_NAME_PATTERN)]
RunIdParameter = Annotated[str | None, Parameter(pattern=TEXT_PATTERN)]
ReplicaNumParameter = Annotated[int, Parameter(ge=0, le=MAX_REPLICA_NUM)]
OptionalReplicaNumParameter = Annotated[int | None, Parameter(ge=0, le=MAX_REPLICA_NUM, schema_extra={"minimum": 0})]
# Litestar leaves a bound of 0 of an optional parameter out of the schema, hence schema_extra.
SubmissionNumParameter = Annotated[int | None, Parameter(ge=0, le=MAX_SUBMISSION_NUM, schema_extra={"minimum": 0})]
LogTokenParameter = Annotated[str | None, Parameter(pattern=LOG_TOKEN_PATTERN)]
# Text, parsed as the bodies parse times: Litestar's own parser would also take "0.5" (seconds).
TimeParameter = Annotated[str | None, Parameter(pattern=TIME_PATTERN, description=TIME_DESCRIPTION,
                                                schema_extra={"format": "date-time"})]
_TIME = TypeAdapter(UtcTime)


async def provide_access(request: Request[Any, Any, Any], accounts: Accounts,
                         project_name: ProjectNameParameter) -> ProjectAccess:
    return await project_access(request, accounts, project_name)


class RunsController(Controller):
    path = "/api/project/{project_name:str}/runs"
    tags = ["runs"]
    security = BEARER_TOKEN
    dependencies = {"access": Provide(provide_access)}

    @post("/apply", status_code=HTTP_200_OK, summary="Submit a run", responses=APPLY_ERRORS,
          description="An active run of the name is updated in place when only `replicas` changed (403 when "
                      "the caller may not manage it); any other change, or none, is a 409.")
    async def apply(self, access: ProjectAccess, data: ApplyRunRequest, run_service: RunService) -> Run:
        return await run_service.apply(access, data.run_spec)

    @post("/get_plan", status_code=HTTP_200_OK, summary="What apply would do with a configuration",
          responses=NOT_FOUND_ERRORS)
    async def get_plan(self, access: ProjectAccess, data: RunPlanRequest, run_service: RunService) -> RunPlan:
        return await run_service.plan(access, data.run_spec)

    @post("/get", status_code=HTTP_200_OK, responses=NOT_FOUND_ERRORS,
          summary="Get a run: by name, the latest run of that name that is not deleted; by id, any run")
    async def get_run(self, access: ProjectAccess, data: GetRunRequest, run_service: RunService) -> Run:
        return await run_service.get(access, run_name=data.run_name, run_id=data.id)

    @post("/list", status_code=HTTP_200_OK, summary="List runs, newest first", responses=NOT_FOUND_ERRORS)
    async def list_runs(self, access: ProjectAccess, data: ListRunsRequest, run_service: RunService) -> list[Run]:
        return await run_service.list_runs(access, data)

    @post("/stop", status_code=HTTP_200_OK, summary="Stop (or abort) many runs, by name or id, with one request",
          responses=NOT_FOUND_ERRORS)
    async def stop(self, access: ProjectAccess, data: StopRunsRequest, run_commands: RunCommands) -> RunOutcomes:
        return RunOutcomes(results=await run_commands.stop(access, data.runs_names, data.abort))

    @post("/scale", status_code=HTTP_200_OK, summary="Scale many services, by name or id, with one request",
          responses=NOT_FOUND_ERRORS)
    async def scale(self, access: ProjectAccess, data: ScaleRunsRequest, run_commands: RunCommands) -> RunOutcomes:
        return RunOutcomes(results=await run_commands.scale(access, data.runs_names, data.replicas))

    @post("/delete", status_code=HTTP_200_OK, summary="Delete finished runs (they stay in history)",
          responses=NOT_FOUND_ERRORS)
    async def delete(self, access: ProjectAccess, data: DeleteRunsRequest, run_commands: RunCommands) -> RunOutcomes:
        return RunOutcomes(results=await run_commands.delete(access, data.runs_names))


class AllRunsController(Controller):
    path = "/api/runs"
    tags = ["runs"]
    security = BEARER_TOKEN
    dependencies = {"caller": Provide(authenticate)}

    @post("/list", status_code=HTTP_200_OK, responses=NOT_FOUND_ERRORS,
          summary="List runs of every project the caller may see (all of them for a global admin), newest first")
    async def list_runs(self, caller: User, data: ListAllRunsRequest, run_service: RunService) -> list[Run]:
        return await run_service.list_all(caller, data)


_EVENT_STREAM = ResponseSpec(
    data_container=LogStreamEvent, media_type="text/event-stream", generate_examples=False,
    description="Server-Sent Events (the schema is that of one event): a `log` event per line, then one `end` "
                "event once the run has finished and every line was sent")


_TEXT_FILE = ResponseSpec(
    data_container=str, media_type="text/plain; charset=utf-8", generate_examples=False,
    description="The log's lines, one per line, as an attachment (`Content-Disposition` names the file)")


class LogsController(Controller):
    path = "/api/project/{project_name:str}/logs"
    tags = ["logs"]
    security = BEARER_TOKEN
    dependencies = {"access": Provide(provide_access)}

    @post("/poll", status_code=HTTP_200_OK, summary="A page of one replica's log lines", responses=NOT_FOUND_ERRORS)
    async def poll(self, access: ProjectAccess, data: PollLogsRequest, log_service: LogService) -> JobLogs:
        run = await log_service.find_run(access, data.run_name, data.run_id)
        token = decode_token(data.next_token) if data.next_token else None
        return await log_service.poll(run, data.replica_num, data.submission_num, token, data.limit, data.descending)

    @post("/poll_all_replicas", status_code=HTTP_200_OK, responses=NOT_FOUND_ERRORS,
          summary="A page of every replica's log lines, merged in time order",
          description="Each line says its `replica_num`. Pages forwards (after `next_token`) or backwards "
                      "(`descending`); a descending page without `next_token` is the end of the log, and its "
                      "`follow_token` goes on after it.")
    async def poll_all_replicas(self, access: ProjectAccess, data: PollAllReplicasLogsRequest,
                                log_service: LogService) -> JobLogs:
        run = await log_service.find_run(access, data.run_name, data.run_id)
        boundaries = decode_boundaries(data.next_token) if data.next_token else None
        return await log_service.poll_all_replicas(run, boundaries, data.limit, data.descending)

    @get("/download", summary="The whole log as a text file, streamed",
         description="Give exactly one of `run_name` and `run_id`; one replica (`replica_num`, default 0) or, "
                     "with `all_replicas`, every replica's lines in time order, each prefixed `[replica N]`. "
                     "`timestamps` prefixes each line with its time (UTC). Lines stored so far, at any size.",
         responses={HTTP_200_OK: _TEXT_FILE, **NOT_FOUND_ERRORS})
    async def download(self, access: ProjectAccess, log_service: LogService,
                       run_name: OptionalRunNameParameter = None, run_id: RunIdParameter = None,
                       replica_num: OptionalReplicaNumParameter = None, all_replicas: bool = False,
                       timestamps: bool = False) -> Stream:
        # Once the stream has started its 200, a refusal could only cut it: refuse before.
        if (run_name is None) == (run_id is None):
            raise ApiError(400, "give exactly one of run_name or run_id")
        if all_replicas and replica_num is not None:
            raise ApiError(400, "replica_num: give replica_num or all_replicas, not both", "replica_num")
        run = await log_service.find_run(access, run_name, run_id)
        which = "all-replicas" if all_replicas else f"replica-{replica_num or 0}"
        return Stream(log_service.download(run, None if all_replicas else replica_num or 0, timestamps),
                      media_type="text/plain; charset=utf-8",
                      headers={"Content-Disposition": f'attachment; filename="{run.run_name}-{which}.log"'})

    @get("/follow", summary="Live log lines of one replica (Server-Sent Events)",
         description="Give exactly one of `run_name` and `run_id`. Every parameter is checked before the stream "
                     "starts, so a refusal is a 4xx, never a stream cut short.",
         opt={ACCEPTS_QUERY_TOKEN: True}, security=QUERY_TOKEN_TOO,
         responses={HTTP_200_OK: _EVENT_STREAM, **NOT_FOUND_ERRORS})
    async def follow(self, access: ProjectAccess, log_service: LogService,
                     run_name: OptionalRunNameParameter = None, run_id: RunIdParameter = None,
                     replica_num: ReplicaNumParameter = 0, submission_num: SubmissionNumParameter = None,
                     next_token: LogTokenParameter = None) -> ServerSentEvent:
        # Once the stream has started its 200, a refusal could only cut it: refuse before.
        if (run_name is None) == (run_id is None):
            raise ApiError(400, "give exactly one of run_name or run_id")
        after = decode_token(next_token) if next_token else None
        run = await log_service.find_run(access, run_name, run_id)

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            async for event in log_service.follow(run, replica_num, submission_num, after):
                yield ServerSentEventMessage(data=event.model_dump_json(), event="log",
                                             id=encode_token(event.submission_num, event.offset))
            yield ServerSentEventMessage(data=json.dumps({"run_id": run.id}), event="end")

        return ServerSentEvent(events())


class MetricsController(Controller):
    path = "/api/project/{project_name:str}/metrics"
    tags = ["metrics"]
    security = BEARER_TOKEN
    dependencies = {"access": Provide(provide_access)}

    @get("/job/{run_name:str}", summary="CPU and memory series of one replica (every submission), oldest first; "
                                        "run_id picks one run of the name (deleted or replaced ones too)",
         responses=NOT_FOUND_ERRORS)
    async def job(self, access: ProjectAccess, run_name: RunNameParameter, metrics_service: MetricsService,
                  replica_num: ReplicaNumParameter = 0, limit: Annotated[int, Parameter(ge=1, le=10_000)] = 100,
                  after: TimeParameter = None, run_id: RunIdParameter = None) -> JobMetrics:
        try:
            after_time = _TIME.validate_python(after) if after is not None else None
        except ValidationError as error:
            raise ApiError(400, f"after: {error.errors()[0]['msg'].removeprefix('Value error, ')}", "after") from None
        return await metrics_service.job_metrics(access, run_name, replica_num, limit=limit, after=after_time,
                                                 run_id=run_id)

    @get("/run/{run_name:str}", summary="The latest CPU and memory of each replica running now",
         responses=NOT_FOUND_ERRORS)
    async def run(self, access: ProjectAccess, run_name: RunNameParameter, metrics_service: MetricsService) -> RunStats:
        return await metrics_service.run_stats(access, run_name)
