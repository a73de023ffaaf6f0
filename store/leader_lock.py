"""One process at a time, among those sharing a database: whoever holds the lock.

PostgreSQL: a session advisory lock, held on a connection of its own for as long as the process
holds it; the server releases it when that session ends, so a process that dies or loses the
database hands over without any expiry to tune. SQLite: an exclusive `flock` on a file beside
the database (only processes of this machine can share a SQLite file), released by the kernel
when the process exits.
"""

from __future__ import annotations

import contextlib
import fcntl
from typing import IO

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from store.database import Database

log = structlog.get_logger(__name__)


class LeaderLock:
    """`key`: the PostgreSQL advisory lock's key; `name`: the SQLite lock file's suffix."""

    def __init__(self, database: Database, key: int, name: str) -> None:
        self._db = database
        self._key = key
        self._name = name
        self._connection: AsyncConnection | None = None
        self._file: IO[str] | None = None

    async def held(self) -> bool:
        """Whether this process holds the lock now, taking it if it is free."""
        return self._file_lock() if self._db.is_sqlite else await self._advisory_lock()

    async def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                # Closed, not returned to the pool: ending the session is what frees the lock.
                await self._connection.invalidate()
            self._connection = None
        if self._file is not None:
            self._file.close()
            self._file = None

    async def _advisory_lock(self) -> bool:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))  # the session lives, and so does its lock
                return True
            except Exception:
                log.warning("lost the connection that held a leader lock", lock=self._name, exc_info=True)
                await self.release()
        connection = await self._db.write_engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = (await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
                     ).scalar_one()
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        log.info("leader lock taken", lock=self._name)
        return True

    def _file_lock(self) -> bool:
        if self._file is not None:
            return True
        path = make_url(self._db.url).database
        if not path or path == ":memory:":
            return True  # a private database: this process is alone
        lock = open(f"{path}.{self._name}-lock", "a")  # noqa: SIM115 - kept open while held
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        self._file = lock
        log.info("leader lock taken", lock=self._name)
        return True
