"""Round-robin over a service's serving replicas, one turn per request, in each API process."""

from __future__ import annotations

from collections.abc import Sequence

from api.proxy.routes import Upstream

# Runs come and go; their turns are forgotten wholesale past this many (a turn is no state).
MAX_RUNS = 10_000


class RoundRobin:
    def __init__(self) -> None:
        self._turns: dict[str, int] = {}

    def order(self, run_id: str, upstreams: Sequence[Upstream]) -> list[Upstream]:
        """Every replica once, starting with this request's turn: the rest are where a refused
        connection goes next."""
        if len(self._turns) >= MAX_RUNS and run_id not in self._turns:
            self._turns.clear()
        turn = self._turns.get(run_id, 0)
        self._turns[run_id] = turn + 1
        start = turn % len(upstreams) if upstreams else 0
        return [*upstreams[start:], *upstreams[:start]]
