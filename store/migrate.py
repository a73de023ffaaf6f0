"""Apply Alembic migrations to the configured database."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from store.database import Database

_ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
# Any constant works: it only has to be the same in every API and worker process.
_PG_MIGRATION_LOCK = 7_303_431


def _upgrade(connection: Any) -> None:
    config = Config(str(_ALEMBIC_INI))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_database(database: Database) -> None:
    """Idempotent, and safe when several processes (an API and a worker) start at once:
    migrations run under a lock, and whoever comes second finds nothing left to do."""
    async with database.write_engine.connect() as connection, _migration_lock(database, connection):
        await connection.run_sync(_upgrade)
        await connection.commit()


@asynccontextmanager
async def _migration_lock(database: Database, connection: AsyncConnection) -> AsyncIterator[None]:
    if database.is_sqlite:
        # SQLite's DDL isn't transactional in Alembic, so a file lock next to the database
        # serializes the processes of this machine (the only ones that can open the file).
        path = make_url(database.url).database
        with open(f"{path}.migrate-lock", "a") as lock:  # noqa: ASYNC230 - creating an empty file
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            yield
        return
    await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    await connection.commit()
    try:
        yield
    finally:
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
        await connection.commit()
