"""Who may use a service with `auth: true`: a project member's token (or a global admin's), as
for the rest of the API (store.accounts reads both). Each answer is kept for ACCESS_SECONDS per
token and project: two queries per proxied request were most of the proxy's cost (the benchmark
is in docs/benchmarks.md), and a revoked token or a removed member is refused within that."""

from __future__ import annotations

import asyncio
import time

from api.proxy.errors import ProxyError
from store.accounts import Accounts, hash_token

ACCESS_SECONDS = 1.0
MAX_CACHED = 10_000
_CHALLENGE = ((b"www-authenticate", b"Bearer"),)


class ServiceAccess:
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts
        # (token hash, project) -> (when checked, the refusal or None)
        self._checked: dict[tuple[str, str], tuple[float, ProxyError | None]] = {}
        # One check in flight per key, in a task of its own: requests arriving together share it.
        self._checking: dict[tuple[str, str], asyncio.Task[tuple[float, ProxyError | None]]] = {}

    async def check(self, token: str | None, project: str) -> None:
        """Raises ProxyError 401 (no token, or an unknown or revoked one) or 403 (not a member)."""
        if token is None:
            raise ProxyError(401, f"missing token: send 'Authorization: Bearer <token>' of a member of project "
                                  f"{project} (or give the service `auth: false`)", _CHALLENGE)
        key = (hash_token(token), project)
        now = time.monotonic()
        checked = self._checked.get(key)
        if checked is None or now - checked[0] > ACCESS_SECONDS:
            checking = self._checking.get(key)
            if checking is None:
                checking = self._checking[key] = asyncio.create_task(self._check(key, token, project))
            checked = await asyncio.shield(checking)
        if checked[1] is not None:
            raise checked[1].again()

    async def _check(self, key: tuple[str, str], token: str, project: str) -> tuple[float, ProxyError | None]:
        started = time.monotonic()
        try:
            checked = (started, await self._refusal(token, project))
        finally:
            del self._checking[key]
        if len(self._checked) >= MAX_CACHED:
            self._checked = {k: v for k, v in self._checked.items() if started - v[0] <= ACCESS_SECONDS}
        self._checked[key] = checked
        return checked

    async def _refusal(self, token: str, project: str) -> ProxyError | None:
        user = await self._accounts.user_by_token(token)
        if user is None:
            return ProxyError(401, "invalid or revoked token", _CHALLENGE)
        if await self._accounts.project_for(user, project) is None:
            return ProxyError(403, f"user {user.name} is not a member of project {project}")
        return None
