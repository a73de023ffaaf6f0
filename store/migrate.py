"""Apply Alembic migrations to the configured database."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from store.database import Database

_ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
# Any constant works: it only has to be the same in every API and worker process.
_PG_MIGRATION_LOCK = 7_303_431


def _upgrade(connection: Any) -> None:
    config = Config(str(_ALEMBIC_INI))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_database(database: Database) -> None:
    """Idempotent; safe when several processes start at once."""
    async with database.write_engine.connect() as connection:
        if not database.is_sqlite:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            await connection.commit()
        try:
            await connection.run_sync(_upgrade)
            await connection.commit()
        finally:
            if not database.is_sqlite:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                         {"key": _PG_MIGRATION_LOCK})
                await connection.commit()
