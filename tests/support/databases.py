"""Databases for tests: SQLite files, and PostgreSQL from DATABASE_URL or testcontainers.

Every database a session makes carries the session's prefix and is dropped at the end, so
sessions never see each other's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


def _docker_reachable() -> bool:
    try:
        import docker  # testcontainers' dependency

        docker.from_env().ping()
        return True
    except Exception:
        return False


class PostgresDatabases:
    """Creates throwaway databases on one PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url).set(drivername="postgresql")
        self.prefix = f"durastack_test_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def _connect(self) -> psycopg.Connection:
        url = self.admin_url
        return psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
                               password=url.password, dbname=url.database or "postgres", autocommit=True)

    def create(self) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        with self._connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.admin_url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)

    def drop_all(self) -> None:
        with self._connect() as connection:
            for name in self.created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_server() -> Iterator[PostgresDatabases | str]:
    """Yields a PostgresDatabases, or a string saying why PostgreSQL is unavailable."""
    url = os.environ.get("DATABASE_URL")
    if url:
        databases = PostgresDatabases(url)
        try:
            yield databases
        finally:
            databases.drop_all()
        return
    if not _docker_reachable():
        yield "PostgreSQL unavailable: DATABASE_URL is not set and no Docker engine answers for testcontainers"
        return
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
        databases = PostgresDatabases(container.get_connection_url())
        yield databases


class SqliteDatabases:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def create(self) -> str:
        self.count += 1
        return f"sqlite+aiosqlite:///{self.directory / f'durastack-{self.count}.db'}"
