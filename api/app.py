"""The Litestar application, assembled in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig

from api.account_controllers import ProjectsController, UsersController
from api.auth import rate_limit_key
from api.code_controllers import CodeController
from api.controllers import AllRunsController, LogsController, MetricsController, RunsController
from api.errors import EXCEPTION_HANDLERS
from api.fleet_controllers import FleetsController, InstancesController
from api.health import HealthService, health
from api.openapi import ModelRulesSchemaPlugin, openapi_config
from api.proxy import ServiceProxy
from api.proxy.routes import ServiceRoutes
from api.services.autoscaler import Autoscaler
from api.services.fleets import FleetService
from api.services.logs import LogService
from api.services.metrics import MetricsService
from api.services.projects import ProjectService
from api.services.run_commands import RunCommands
from api.services.runs import RunService
from api.services.traffic import TrafficCounter
from api.services.users import UserService
from api.static_ui import static_ui_router
from store.accounts import Accounts
from store.code import CodeStore

# Requests per second per token (DURASTACK_RATE_LIMIT): far above what the UI or CLI send, low
# enough that one runaway client can't take the API from everyone else.
DEFAULT_RATE_LIMIT = 100


@dataclass(frozen=True)
class Services:
    accounts: Accounts
    runs: RunService
    run_commands: RunCommands
    logs: LogService
    metrics: MetricsService
    health: HealthService
    code: CodeStore
    fleets: FleetService
    # For the service proxy: `traffic.count(run_id)` per request, `autoscaler.wake(run_id)` for a
    # service at zero replicas (api/services/traffic.py, api/services/autoscaler.py).
    traffic: TrafficCounter
    autoscaler: Autoscaler
    service_routes: ServiceRoutes  # the proxy's view of serving replicas (api/proxy)


def create_app(services: Services, rate_limit: int = DEFAULT_RATE_LIMIT) -> Litestar:
    """`rate_limit`: requests per second per token (per address without one); 0 turns it off."""
    # Users and projects need nothing but the accounts store, so they are made here.
    users, projects = UserService(services.accounts), ProjectService(services.accounts)
    proxy = ServiceProxy(services.service_routes, services.accounts, waker=services.autoscaler,
                         counter=services.traffic)
    return Litestar(
        route_handlers=[RunsController, AllRunsController, LogsController, MetricsController, UsersController,
                        ProjectsController, CodeController, FleetsController, InstancesController, health,
                        static_ui_router(), proxy.route_handler()],
        dependencies={
            "accounts": Provide(lambda: services.accounts, sync_to_thread=False),
            "run_service": Provide(lambda: services.runs, sync_to_thread=False),
            "run_commands": Provide(lambda: services.run_commands, sync_to_thread=False),
            "log_service": Provide(lambda: services.logs, sync_to_thread=False),
            "metrics_service": Provide(lambda: services.metrics, sync_to_thread=False),
            "health_service": Provide(lambda: services.health, sync_to_thread=False),
            "code_store": Provide(lambda: services.code, sync_to_thread=False),
            "fleet_service": Provide(lambda: services.fleets, sync_to_thread=False),
            "user_service": Provide(lambda: users, sync_to_thread=False),
            "project_service": Provide(lambda: projects, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[_rate_limiter(rate_limit)] if rate_limit > 0 else [],
        logging_config=None,  # structlog is configured once per process (server.logging)
        openapi_config=openapi_config(),
        plugins=[ModelRulesSchemaPlugin()],
        on_shutdown=[proxy.aclose],
    )


def _rate_limiter(per_second: int) -> DefineMiddleware:
    """Litestar's limiter, in this process's memory (each API replica counts its own requests)."""

    def is_api(request: Request[Any, Any, Any]) -> bool:
        # The UI's files and the OpenAPI document are static: a page load fetches many at once.
        return request.url.path.startswith("/api/")

    return RateLimitConfig(rate_limit=("second", per_second), identifier_for_request=rate_limit_key,
                           check_throttle_handler=is_api).middleware
