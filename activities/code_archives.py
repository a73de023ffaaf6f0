"""Runs' uploaded code on this host: each archive is read from the database once and kept in the
server's state directory (`code/<sha256>.tar.gz`, private to the server), so that the replicas of
a run, and its retries, unpack the same file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections import defaultdict
from pathlib import Path

import structlog

from backends.base import JobStartError
from store.code import CodeStore

log = structlog.get_logger(__name__)

_HASH = re.compile(r"[0-9a-f]{64}")


class CodeArchives:
    def __init__(self, store: CodeStore, directory: Path) -> None:
        self._store = store
        self._directory = directory
        # One fetch per archive at a time: the replicas of a run start together and wait for it.
        self._fetching: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def archive(self, project: str, code_hash: str) -> Path:
        """The archive's path on this host, fetched first if it is not here yet."""
        if not _HASH.fullmatch(code_hash):
            raise JobStartError(f"the run's code hash {code_hash!r} is not a sha256")
        path = self._directory / f"{code_hash}.tar.gz"
        async with self._fetching[code_hash]:
            if path.exists():
                return path
            data = await self._store.get_by_project_name(project, code_hash)
            if data is None:
                raise JobStartError(f"project {project} has no code with sha256 {code_hash}")
            await asyncio.to_thread(self._write, path, data, code_hash)
            log.info("code fetched", project=project, hash=code_hash, size=len(data))
        return path

    def _write(self, path: Path, data: bytes, code_hash: str) -> None:
        """Written whole or not at all (another worker on this host may read it at any moment)."""
        if hashlib.sha256(data).hexdigest() != code_hash:
            raise JobStartError(f"the stored code of sha256 {code_hash} does not match its hash")
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._directory.chmod(0o700)
        temporary = self._directory / f".{code_hash}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
