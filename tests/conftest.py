"""Session-wide real services: a Temporal dev server and databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from store.accounts import Accounts
from store.database import Database
from store.migrate import upgrade_database
from tests.support.databases import PostgresDatabases, SqliteDatabases, postgres_server
from tests.support.durastack import DurastackProcesses
from tests.support.temporal import TemporalDevServer


@pytest.fixture(scope="session")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(tmp_path_factory.mktemp("temporal"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | str]:
    with postgres_server() as databases:
        yield databases


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(params=["sqlite", "postgres"], scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def new_database_url(database_kind: str, sqlite_databases: SqliteDatabases,
                     postgres: PostgresDatabases | str) -> Callable[[], str]:
    """Makes a fresh, empty database of the parametrized kind."""
    if database_kind == "sqlite":
        return sqlite_databases.create
    if isinstance(postgres, str):
        pytest.skip(postgres)
    return postgres.create


@pytest.fixture
async def database(new_database_url: Callable[[], str]) -> AsyncIterator[Database]:
    """A fresh database of the parametrized kind, migrated, with the admin and default project."""
    database = Database(new_database_url())
    await upgrade_database(database)
    await upgrade_database(database)  # idempotent
    await Accounts(database).bootstrap("token")
    yield database
    await database.dispose()


@pytest.fixture
def deploy(tmp_path: Path, temporal: TemporalDevServer,
           new_database_url: Callable[[], str]) -> Iterator[Callable[..., DurastackProcesses]]:
    """Starts a durastack deployment (api + worker processes) with its own database."""
    started: list[DurastackProcesses] = []

    def start(temporal_address: str | None = None, **host: Any) -> DurastackProcesses:
        processes = DurastackProcesses(tmp_path / f"deployment-{len(started)}",
                                       temporal_address or temporal.address, new_database_url(), **host)
        started.append(processes)
        processes.start()
        return processes

    yield start
    for processes in started:
        processes.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, temporal: TemporalDevServer,
               new_database_url: Callable[[], str]) -> Iterator[DurastackProcesses]:
    """One stack for a whole module (per database kind), for modules whose tests each make their
    own names, users and projects."""
    processes = DurastackProcesses(tmp_path_factory.mktemp("deployment"), temporal.address, new_database_url())
    processes.start()
    yield processes
    processes.stop()
