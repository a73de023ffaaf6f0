"""The API's background rounds (sweeps, flushes, the autoscaler's decisions): run forever, and
a round that fails is logged and tried again next time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import structlog

log = structlog.get_logger(__name__)


async def every(seconds: float, round_: Callable[[], Awaitable[object]], failure: str, **context: Any) -> NoReturn:
    """Runs `round_` every `seconds`, until cancelled. `failure` is the warning a failed round
    logs (the database or Temporal is away: the next round tries again)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await round_()
        except Exception:
            log.warning(failure, exc_info=True, **context)
