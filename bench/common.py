"""Helpers the benchmarks share: an API client, paginated lists, percentiles, the printed table."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from typing import Any

import httpx

from bench.stack import EmbeddedStack

API = "/api/project/main"
TERMINAL = {"done", "failed", "terminated"}
PAGE = 1000


def client(stack: EmbeddedStack, connections: int = 100, timeout: float = 120) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.url, timeout=timeout,
                             limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
                             headers={"Authorization": f"Bearer {stack.token}"})


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    response = await http.post(f"{API}/{path}", json=body)
    response.raise_for_status()
    return response.json()


async def list_all(http: httpx.AsyncClient, only_active: bool) -> list[dict[str, Any]]:
    """Every run, newest first: pages of 1000, keyset-paginated on (submitted_at, id)."""
    runs: list[dict[str, Any]] = []
    body: dict[str, Any] = {"only_active": only_active, "limit": PAGE}
    while True:
        page = await post(http, "runs/list", body)
        runs += page
        if len(page) < PAGE:
            return runs
        body = {**body, "prev_submitted_at": page[-1]["submitted_at"], "prev_run_id": page[-1]["id"]}


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: Sequence[float], unit: str = "s") -> str:
    """"median 1.23 s, max 1.45 s (1.23 / 1.45)": seconds (or another unit) with two decimals,
    or whole milliseconds for values in seconds shown as "ms"."""
    scale_by, digits = (1000, 0) if unit == "ms" else (1, 2)
    parts = [f"median {statistics.median(values) * scale_by:.{digits}f} {unit}",
             f"max {max(values) * scale_by:.{digits}f} {unit}"]
    rounds = " / ".join(f"{value * scale_by:.{digits}f}" for value in values)
    return f"{', '.join(parts)} ({rounds})"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def print_table(title: str, rows: Sequence[tuple[str, str, str]],
                header: tuple[str, str, str] = ("metric", "result", "target")) -> None:
    """metric | result | target (or another header), aligned, under a title line."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    print(f"\n{title}")
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), flush=True)


def problem_rows(problems: dict[str, int]) -> list[tuple[str, str, str]]:
    return [(f"server log: {name}", str(count), "0" if name != "warning lines" else "") for name, count in
            problems.items()]
