"""Apply Alembic migrations to the configured database."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

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
    if database.is_sqlite:
        # The lock comes before the first connection: that connection switches the file to
        # WAL, and two processes switching at once get "database is locked" without waiting.
        with _sqlite_file_lock(database):
            await _upgrade_with(database)
        return
    await _upgrade_with(database, pg_lock=True)


async def _upgrade_with(database: Database, *, pg_lock: bool = False) -> None:
    async with database.write_engine.connect() as connection:
        if pg_lock:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            await connection.commit()
        try:
            await connection.run_sync(_upgrade)
            await connection.commit()
        finally:
            if pg_lock:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
                await connection.commit()


@contextmanager
def _sqlite_file_lock(database: Database) -> Iterator[None]:
    # SQLite's DDL isn't transactional in Alembic, so a file lock next to the database
    # serializes the processes of this machine (the only ones that can open the file).
    path = make_url(database.url).database
    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks the loop only while another process starts up
        yield
