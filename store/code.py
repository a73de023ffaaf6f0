"""Uploaded code: tar.gz archives of a configuration's directory, per project, by their sha256."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.database import Database
from store.models import CodeBlobModel, ProjectModel


@dataclass(frozen=True)
class StoredCode:
    hash: str
    size: int


class CodeStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def put(self, project_id: str, data: bytes) -> tuple[str, bool]:
        """Stores `data` under its sha256; returns the hash and whether it was new. An archive the
        project already has is not written again (the same hash is the same bytes)."""
        code_hash = await asyncio.to_thread(_sha256, data)  # ~0.3 s for 100 MB: off the event loop
        if await self.exists(project_id, code_hash):
            return code_hash, False
        insert = sqlite_insert if self._db.is_sqlite else pg_insert
        statement = insert(CodeBlobModel).values(project_id=project_id, hash=code_hash, size=len(data), data=data)
        async with self._db.write() as session:
            result = await session.execute(statement.on_conflict_do_nothing())
        return code_hash, bool(result.rowcount)  # type: ignore[attr-defined]  # 0: a concurrent upload won

    async def info(self, project_id: str, code_hash: str) -> StoredCode | None:
        async with self._db.read() as session:
            size = (await session.execute(
                select(CodeBlobModel.size).where(CodeBlobModel.project_id == project_id,
                                                 CodeBlobModel.hash == code_hash))).scalar_one_or_none()
        return None if size is None else StoredCode(hash=code_hash, size=size)

    async def exists(self, project_id: str, code_hash: str) -> bool:
        return await self.info(project_id, code_hash) is not None

    async def get(self, project_id: str, code_hash: str) -> bytes | None:
        async with self._db.read() as session:
            return (await session.execute(
                select(CodeBlobModel.data).where(CodeBlobModel.project_id == project_id,
                                                 CodeBlobModel.hash == code_hash))).scalar_one_or_none()

    async def get_by_project_name(self, project_name: str, code_hash: str) -> bytes | None:
        """What hosts ask for: a run's state names its project, not the project's id."""
        async with self._db.read() as session:
            return (await session.execute(
                select(CodeBlobModel.data).join(ProjectModel, ProjectModel.id == CodeBlobModel.project_id)
                .where(ProjectModel.name == project_name, CodeBlobModel.hash == code_hash))).scalar_one_or_none()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
