"""GET /api/health: can this API process serve runs? Its database, the Temporal server, workers
polling the run task queue, and the embedded Temporal dev server when this process runs one.

Container probes can't hold tokens, so an anonymous caller gets the status alone (200 `ok` or 503
`unavailable`); a caller with a valid token also gets each component's state. Every check is
bounded, so the endpoint answers within a few seconds even when a component hangs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from api.auth import authenticate, bearer_token
from api.openapi import BEARER_TOKEN
from store.accounts import Accounts
from store.database import Database

CHECK_TIMEOUT = timedelta(seconds=2)
# A worker's poll waits up to a minute on the server for a task before the next one starts, so an
# idle worker's latest poll can be that old; the server forgets pollers after five minutes.
POLLED_WITHIN = timedelta(minutes=2)


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class EmbeddedTemporalHealth(BaseModel):
    """server/supervisor.py's state of the Temporal dev server it runs."""

    model_config = ConfigDict(from_attributes=True)

    status: Literal["starting", "running", "restarting", "failed", "stopped"]
    pid: int | None
    restarts: int = Field(description="how many times it was started again after it had exited")
    last_exit_code: int | None = Field(description="negative: the signal that killed it")
    since: datetime = Field(description="when it entered this status")


class HealthComponents(BaseModel):
    database: ComponentHealth
    temporal: ComponentHealth
    workers: ComponentHealth = Field(description="workers polling the run task queue, in any process")
    embedded_temporal: EmbeddedTemporalHealth | None = Field(
        description="the Temporal dev server `durastack server` runs; null when Temporal is external")

    @property
    def ok(self) -> bool:
        embedded_ok = self.embedded_temporal is None or self.embedded_temporal.status == "running"
        return self.database.ok and self.temporal.ok and self.workers.ok and embedded_ok


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    components: HealthComponents | None = Field(
        default=None, exclude_if=lambda components: components is None,
        description="only for a caller with a valid token")


class _Down(Exception):
    """A component answered, and the answer is bad."""


class HealthService:
    def __init__(self, database: Database, client: Client, task_queue: str, *,
                 embedded_temporal: Callable[[], object] | None = None) -> None:
        self._database = database
        self._client = client
        self._task_queue = task_queue
        self._embedded_temporal = embedded_temporal

    async def check(self) -> HealthComponents:
        database, temporal, workers = await asyncio.gather(
            _component(self._check_database), _component(self._check_temporal), _component(self._check_workers))
        embedded = self._embedded_temporal
        return HealthComponents(database=database, temporal=temporal, workers=workers,
                                embedded_temporal=EmbeddedTemporalHealth.model_validate(embedded())
                                if embedded else None)

    async def _check_database(self) -> str:
        async with self._database.read() as session:
            await session.execute(text("SELECT 1"))
        return "answers"

    async def _check_temporal(self) -> str:
        if not await self._client.service_client.check_health(timeout=CHECK_TIMEOUT):
            raise _Down("the frontend reports itself not serving")
        return f"answers at {self._client.service_client.config.target_host}"

    async def _check_workers(self) -> str:
        response = await self._client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=self._client.namespace, task_queue=TaskQueue(name=self._task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), timeout=CHECK_TIMEOUT)
        since = datetime.now(UTC) - POLLED_WITHIN
        recent = {poller.identity for poller in response.pollers
                  if poller.last_access_time.ToDatetime(tzinfo=UTC) >= since}
        if not recent:
            raise _Down(f"no worker polled task queue {self._task_queue} in the last "
                        f"{POLLED_WITHIN.total_seconds():g} s")
        return f"{len(recent)} worker(s) polling task queue {self._task_queue}"


async def _component(check: Callable[[], Awaitable[str]]) -> ComponentHealth:
    try:
        detail = await asyncio.wait_for(check(), CHECK_TIMEOUT.total_seconds() + 1)
    except TimeoutError:
        return ComponentHealth(ok=False, detail=f"no answer within {CHECK_TIMEOUT.total_seconds():g} s")
    except Exception as error:  # whatever a check raises, the component is down, and this says why
        return ComponentHealth(ok=False, detail=str(error) or type(error).__name__)
    return ComponentHealth(ok=True, detail=detail)


@get("/api/health", tags=["health"], summary="Whether the API can serve runs (200) or not (503)",
     response_description="Every component answers: `status` is `ok`",
     description="Anonymous callers (container health probes) get `status` only; a caller with a valid "
                 "token also gets `components`: the database, the Temporal server, workers polling the run "
                 "task queue, and the embedded Temporal dev server when there is one.",
     responses={HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
         data_container=Health, description="A component is down: `status` is `unavailable`")},
     raises=[NotAuthorizedException], security=[{}, *BEARER_TOKEN])  # {}: the token is optional
async def health(request: Request[Any, Any, Any], health_service: HealthService,
                 accounts: Accounts) -> Response[Health]:
    components = await health_service.check()
    detailed = False
    # Tokens live in the database: while it is down, nobody can be told from an anonymous caller.
    if bearer_token(request) is not None and components.database.ok:
        await authenticate(request, accounts)  # a wrong token is a 401, as anywhere else
        detailed = True
    return Response(Health(status="ok" if components.ok else "unavailable",
                           components=components if detailed else None),
                    status_code=HTTP_200_OK if components.ok else HTTP_503_SERVICE_UNAVAILABLE)
