"""What the proxy tells the rest of durastack: a request arrived, and a service with no ready
replica is wanted. The autoscaler implements both; by default they do nothing."""

from __future__ import annotations

from typing import Protocol


class ServiceWaker(Protocol):
    async def wake(self, run_id: str) -> None:
        """A request waits for a service scaled to zero: start a replica. Called by every API
        process holding such requests, at most once at a time per run and process, so it must
        be idempotent; an exception is logged and the request keeps waiting."""


class RequestCounter(Protocol):
    def count(self, run_id: str) -> None:
        """One request for the service, counted once it is accepted (held ones too). Called on
        the proxy's hot path: it must not block."""


class NoWaker:
    async def wake(self, run_id: str) -> None:
        return None


class NoCounter:
    def count(self, run_id: str) -> None:
        return None
