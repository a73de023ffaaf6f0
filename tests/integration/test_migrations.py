"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL: a model
changed without its migration (or the other way round) fails here, not in production."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.database import Database
from store.models import Base

pytestmark = pytest.mark.integration


def _differences(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [difference for difference in compare_metadata(context, Base.metadata)
            if not _is_alembic_bookkeeping(difference)]


def _is_alembic_bookkeeping(difference: Any) -> bool:
    return isinstance(difference, tuple) and difference[0] == "remove_table" and \
        difference[1].name == "alembic_version"


async def test_the_migrated_schema_is_the_models(database: Database) -> None:
    async with database.write_engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []
