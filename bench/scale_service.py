"""Scaling a running service up (1 → 4 replicas) and down (4 → 1).

    .venv/bin/python -m bench.scale_service [--rounds 5] [--log-dir /tmp]

A fresh embedded stack (SQLite, Temporal dev server) runs the service `web` (replicas 1..4,
`sleep 600`, cpu 0.1, memory 16MB, stop_duration 1s) until one replica runs. Each round:
`runs/scale {"runs_names": ["web"], "replicas": 4}` (one run: an update, answered by the
workflow), then `runs/get` every 20 ms until `running_replicas` is 4; then scale to 1 and
poll until the three replicas that were removed show their current submission `terminated`.
Times are from just before the scale request. Prints a table; server.log is kept in --log-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import client, load, post, print_table, problem_rows, summary
from bench.stack import EmbeddedStack

SERVICE = {"type": "service", "name": "web", "port": 8000, "replicas": "1..4", "commands": ["sleep 600"],
           "stop_duration": "1s", "resources": {"cpu": 0.1, "memory": "16MB"}}
POLL_SECONDS = 0.02
TIMEOUT = 60.0

Row = tuple[str, str, str]


async def wait_for(http: httpx.AsyncClient, done: Callable[[dict[str, Any]], bool], since: float) -> float:
    while time.perf_counter() - since < TIMEOUT:
        if done(await post(http, "runs/get", {"run_name": "web"})):
            return time.perf_counter() - since
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"web did not get there within {TIMEOUT:.0f} s")


def current(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [job["job_submissions"][-1] for job in run["jobs"]]


async def scale(http: httpx.AsyncClient, replicas: int) -> float:
    started = time.perf_counter()
    answer = await post(http, "runs/scale", {"runs_names": ["web"], "replicas": replicas})
    outcome = answer["results"][0]["outcome"]
    if outcome != "scaled":
        raise RuntimeError(f"scale to {replicas}: {outcome}")
    return time.perf_counter() - started


async def one_round(http: httpx.AsyncClient) -> tuple[float, float, float, float]:
    """Scale-up request latency and time to 4 running; the same for scaling down to 1."""
    started = time.perf_counter()
    up_answered = await scale(http, 4)
    up = await wait_for(http, lambda run: run["running_replicas"] == 4, started)

    before = await post(http, "runs/get", {"run_name": "web"})
    running = {submission["id"] for submission in current(before) if submission["status"] == "running"}
    started = time.perf_counter()
    down_answered = await scale(http, 1)
    down = await wait_for(http, lambda run: sum(
        1 for s in current(run) if s["id"] in running and s["status"] == "terminated") == 3, started)
    await wait_for(http, lambda run: run["running_replicas"] == 1, time.perf_counter())
    return up_answered, up, down_answered, down


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"), help="where the server log is kept")
    args = parser.parse_args()

    with EmbeddedStack(cpus=10, memory="8GB", keep_log=args.log_dir / "durastack-bench-scale.log") as stack:
        async with client(stack) as http:
            started = time.perf_counter()
            await post(http, "runs/apply", {"run_spec": {"configuration": SERVICE}})
            first = await wait_for(http, lambda run: run["running_replicas"] >= 1, started)
            load_before = load()
            rounds = [await one_round(http) for _ in range(args.rounds)]
            problems = stack.log_problems()
            await post(http, "runs/stop", {"runs_names": ["web"], "abort": True})

    up_answered, up, down_answered, down = (list(column) for column in zip(*rounds, strict=True))
    rows: list[Row] = [
        ("submit → first replica running", f"{first:.2f} s", ""),
        ("load average before the rounds", load_before, ""),
        (f"scale 1 → 4: request answered ({args.rounds} rounds)", summary(up_answered, "ms"), ""),
        ("scale 1 → 4: 4 replicas running", summary(up, "s"), "≤ 1.5 s"),
        ("scale 4 → 1: request answered", summary(down_answered, "ms"), ""),
        ("scale 4 → 1: 3 replicas terminated", summary(down, "s"), ""),
        *problem_rows(problems),
    ]
    print_table(f"Scaling a service (load average at the end: {load()})", rows)


if __name__ == "__main__":
    asyncio.run(main())
