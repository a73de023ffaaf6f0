"""The in-server proxy: `/proxy/services/{project}/{run}/{path}` to the run's serving replicas,
any method, streamed both ways, and WebSockets. Every API process runs one; it keeps nothing but
caches, so any of them answers any request."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, cast

import structlog
from litestar.handlers import ASGIRouteHandler, asgi
from litestar.types import HTTPScope, Receive, Scope, Send, WebSocketScope

from api.fields import PROJECT_NAME_PATTERN
from api.proxy.access import ServiceAccess
from api.proxy.balancer import RoundRobin
from api.proxy.errors import ProxyError, send_http_error
from api.proxy.headers import bearer_token, request_headers
from api.proxy.hooks import NoCounter, NoWaker, RequestCounter, ServiceWaker
from api.proxy.http import HttpForwarder
from api.proxy.routes import PREFIX, ServiceRoute, ServiceRoutes
from api.proxy.websocket import ReplicaRefusedUpgrade, open_upstream, relay
from core.configuration import RUN_NAME_PATTERN
from store.accounts import Accounts

log = structlog.get_logger(__name__)

# How long a request to a service scaled to zero waits for a replica to become ready (the waker
# starts one) before it is answered 503; and how often it looks meanwhile.
HOLD_SECONDS = 120.0
HOLD_POLL_SECONDS = 0.25

_PREFIX = PREFIX.encode()
_PROJECT_NAME = re.compile(PROJECT_NAME_PATTERN)
_RUN_NAME = re.compile(RUN_NAME_PATTERN)
_USAGE = f"address a service as {PREFIX}/{{project}}/{{run}}/{{path}}"


class ServiceProxy:
    """`waker` starts a replica of a service scaled to zero that a request waits for; `counter`
    hears of every request a service accepts (the autoscaler's measure). Both default to nothing."""

    def __init__(self, routes: ServiceRoutes, accounts: Accounts, *, waker: ServiceWaker | None = None,
                 counter: RequestCounter | None = None) -> None:
        self._access = ServiceAccess(accounts)
        self._routes = routes
        self._waker: ServiceWaker = waker or NoWaker()
        self._counter: RequestCounter = counter or NoCounter()
        self._balancer = RoundRobin()
        self._http = HttpForwarder()
        self._wakes: dict[str, asyncio.Task[None]] = {}

    def route_handler(self) -> ASGIRouteHandler:
        """Mounted at PREFIX: every method, and WebSockets, reach __call__ untouched."""

        async def proxy_services(scope: Scope, receive: Receive, send: Send) -> None:
            await self(scope, receive, send)

        return asgi(PREFIX, is_mount=True, copy_scope=False)(proxy_services)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(cast(WebSocketScope, scope), receive, send)
        elif scope["type"] == "http":
            try:
                await self._http_request(cast(HTTPScope, scope), receive, send)
            except ProxyError as error:
                await send_http_error(send, error)

    # -- the two kinds of request -----------------------------------------------------------------

    async def _http_request(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        route, target, bound = await self._accept(scope)
        headers = self._headers(scope, route, websocket=False)
        await self._http.forward(scope, receive, send, route, self._balancer.order(route.run_id, route.upstreams),
                                 target, headers, bound)

    async def _websocket(self, scope: WebSocketScope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        try:
            route, target, bound = await self._accept(scope)
            replica = await open_upstream(
                route, self._balancer.order(route.run_id, route.upstreams), target,
                self._headers(scope, route, websocket=True), scope.get("subprotocols") or (), bound)
        except ProxyError as error:
            await _refuse_websocket(scope, send, error)
            return
        except ReplicaRefusedUpgrade as refusal:
            await _answer_handshake(scope, send, refusal.status, refusal.headers, refusal.body)
            return
        await relay(replica, scope, receive, send)

    # -- what both do first ---------------------------------------------------------------------

    async def _accept(self, scope: HTTPScope | WebSocketScope) -> tuple[ServiceRoute, str, Any]:
        """The route with a ready replica, once the caller may use it; the path for the replica."""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        project, run_name, rest = _parse(raw_path)
        route = await self._routes.get(project, run_name)
        if route.auth:
            await self._access.check(bearer_token(scope["headers"]), route.project)
        bound = log.bind(run_id=route.run_id, run_name=route.run_name, project=route.project)
        self._counter.count(route.run_id)
        route = await self._ready(route, bound)
        target = rest if route.strip_prefix else raw_path
        if query := scope.get("query_string"):
            target += b"?" + query
        return route, target.decode("latin-1"), bound

    async def _ready(self, route: ServiceRoute, bound: Any) -> ServiceRoute:
        """The route once it has a serving replica. A service scaled to zero is woken and waited
        for, up to HOLD_SECONDS; any other without one is answered at once."""
        if route.upstreams:
            return route
        if route.stopping:
            raise ProxyError(503, f"service {route.run_name} is stopping")
        if not route.scales_to_zero:
            raise ProxyError(503, f"service {route.run_name} has no ready replica")
        bound.info("request waits for a replica")
        self._wake(route.run_id, bound)
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(HOLD_POLL_SECONDS)
            route = await self._routes.get(route.project, route.run_name, max_age=HOLD_POLL_SECONDS)
            if route.upstreams:
                return route
            if route.stopping:
                raise ProxyError(503, f"service {route.run_name} is stopping")
        bound.warning("no replica became ready for a waiting request", waited_seconds=HOLD_SECONDS)
        raise ProxyError(503, f"service {route.run_name} has no ready replica: none became ready within "
                              f"{HOLD_SECONDS:g} s")

    def _wake(self, run_id: str, bound: Any) -> None:
        """One wake in flight per run: requests arriving together share it."""
        if run_id in self._wakes:
            return

        async def wake() -> None:
            try:
                await self._waker.wake(run_id)
            except Exception:
                bound.exception("waking the service failed")
            finally:
                del self._wakes[run_id]

        self._wakes[run_id] = asyncio.create_task(wake())

    @staticmethod
    def _headers(scope: HTTPScope | WebSocketScope, route: ServiceRoute, *,
                 websocket: bool) -> list[tuple[bytes, bytes]]:
        client = scope.get("client")
        return request_headers(scope["headers"], client_host=client[0] if client else None, scheme=scope["scheme"],
                               strip_authorization=route.auth, prefix=route.prefix if route.strip_prefix else None,
                               websocket=websocket)


def _parse(raw_path: bytes) -> tuple[str, str, bytes]:
    """Project, run name and the rest of the path (at least "/")."""
    rest = raw_path[len(_PREFIX):] if raw_path.startswith(_PREFIX) else b""
    parts = rest.split(b"/", 3)  # "", project, run, rest
    if len(parts) < 3 or not parts[1] or not parts[2]:
        raise ProxyError(404, _USAGE)
    project, run_name = parts[1].decode("latin-1"), parts[2].decode("latin-1")
    if not _PROJECT_NAME.match(project):
        raise ProxyError(404, f"project {project} not found")
    if not _RUN_NAME.match(run_name):
        raise ProxyError(404, f"project {project} has no active run named {run_name}")
    return project, run_name, b"/" + (parts[3] if len(parts) > 3 else b"")


async def _refuse_websocket(scope: WebSocketScope, send: Send, error: ProxyError) -> None:
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send_http_error(send, error, prefix="websocket.http")
    else:  # the server answers 403 to a close before accept
        await send({"type": "websocket.close", "code": 1013 if error.status_code == 503 else 1008,
                    "reason": error.detail[:120]})


async def _answer_handshake(scope: WebSocketScope, send: Send, status: int, headers: list[tuple[bytes, bytes]],
                            body: bytes) -> None:
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008, "reason": f"the replica answered {status}"})
        return
    await send(cast(Any, {"type": "websocket.http.response.start", "status": status, "headers": headers}))
    await send(cast(Any, {"type": "websocket.http.response.body", "body": body, "more_body": False}))
