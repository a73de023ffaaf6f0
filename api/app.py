"""The Litestar application, assembled in one place."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from api.account_controllers import ProjectsController, UsersController
from api.controllers import AllRunsController, LogsController, MetricsController, RunsController
from api.errors import EXCEPTION_HANDLERS
from api.services.logs import LogService
from api.services.metrics import MetricsService
from api.services.projects import ProjectService
from api.services.run_commands import RunCommands
from api.services.runs import RunService
from api.services.users import UserService
from api.static_ui import static_ui_router
from store.accounts import Accounts


@dataclass(frozen=True)
class Services:
    accounts: Accounts
    runs: RunService
    run_commands: RunCommands
    logs: LogService
    metrics: MetricsService


def create_app(services: Services) -> Litestar:
    # Users and projects need nothing but the accounts store, so they are made here.
    users, projects = UserService(services.accounts), ProjectService(services.accounts)
    return Litestar(
        route_handlers=[RunsController, AllRunsController, LogsController, MetricsController, UsersController,
                        ProjectsController, static_ui_router()],
        dependencies={
            "accounts": Provide(lambda: services.accounts, sync_to_thread=False),
            "run_service": Provide(lambda: services.runs, sync_to_thread=False),
            "run_commands": Provide(lambda: services.run_commands, sync_to_thread=False),
            "log_service": Provide(lambda: services.logs, sync_to_thread=False),
            "metrics_service": Provide(lambda: services.metrics, sync_to_thread=False),
            "user_service": Provide(lambda: users, sync_to_thread=False),
            "project_service": Provide(lambda: projects, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # structlog is configured once per process (server.logging)
        openapi_config=OpenAPIConfig(title="durastack", version="0.1.0", path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
    )
