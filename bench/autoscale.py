"""Autoscaling by requests per second: how fast load brings a new replica, and a cold start from zero.

    .venv/bin/python -m bench.autoscale [--rounds 3] [--log-dir /tmp]

A fresh embedded stack (SQLite, Temporal dev server, one process) runs the service `web`
(replicas 0..2, `scaling: {target: 5, window: 5s, scale_up_delay: 0s, scale_down_delay: 5s}`), the
tests' replica app (tests/support/replica_app.py, standard-library HTTP). Each round, through the
in-server proxy (`/proxy/services/main/web/`):

- *cold start*: with the service at zero replicas, one GET; the time until its answer (the
  proxy holds it, the autoscaler wakes the service, a replica starts and its port opens).
- *reaction*: with one replica serving, two clients send GETs one after another (about 20 a
  second in all, so rps / target asks for 4, capped at 2); from the first request to the
  autoscaler's event (`autoscaler: 1 → 2 (...)`, its timestamp) and to the second replica ready
  (`runs/get` every 50 ms).
- *back to zero*: from the last request to zero replicas desired (window, then scale_down_delay).

Prints a table; server.log is kept in --log-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.common import client, load, post, print_table, problem_rows, summary
from bench.stack import EmbeddedStack
from tests.support.replicas import service as replica_service

SERVICE = replica_service("web", replicas="0..2", stop_duration="1s", scaling={
    "metric": "rps", "target": 5, "window": "5s", "scale_up_delay": "0s", "scale_down_delay": "5s"})
PROXY = "/proxy/services/main/web/"
CLIENTS = 2
PAUSE_SECONDS = 0.1  # between one client's requests
POLL_SECONDS = 0.05
TIMEOUT = 120.0

Row = tuple[str, str, str]


def ready(run: dict[str, Any]) -> int:
    return sum(1 for job in run["jobs"] if (s := job["job_submissions"][-1])["status"] == "running" and s["ready"])


async def wait_for(http: httpx.AsyncClient, done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        run = await post(http, "runs/get", {"run_name": "web"})
        if done(run):
            return run
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"web: {what} not within {TIMEOUT:.0f} s")


async def cold_start(http: httpx.AsyncClient) -> float:
    await wait_for(http, lambda run: run["desired_replicas"] == 0 and run["running_replicas"] == 0, "zero replicas")
    started = time.perf_counter()
    answer = await http.get(PROXY)
    if answer.status_code != 200:
        raise RuntimeError(f"cold start: {answer.status_code} {answer.text}")
    return time.perf_counter() - started


async def reaction(http: httpx.AsyncClient) -> tuple[float, float, float, float]:
    """Load start → the autoscaler's event, → the second replica ready; the rps sent; last request
    → zero replicas desired."""
    await wait_for(http, lambda run: ready(run) == 1, "one replica ready")
    stop = asyncio.Event()
    sent = 0

    async def send() -> None:
        nonlocal sent
        while not stop.is_set():
            answer = await http.get(PROXY)
            if answer.status_code != 200:
                raise RuntimeError(f"under load: {answer.status_code} {answer.text}")
            sent += 1
            await asyncio.sleep(PAUSE_SECONDS)

    wall_start, started = time.time(), time.perf_counter()
    clients = [asyncio.create_task(send()) for _ in range(CLIENTS)]
    try:
        run = await wait_for(http, lambda run: ready(run) == 2, "two replicas ready")
        to_ready = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.gather(*clients)
    stopped = time.perf_counter()
    rps = sent / (stopped - started)
    decided = [datetime.fromisoformat(event["timestamp"]).timestamp() for event in run["events"]
               if event["message"].startswith("autoscaler: 1 → 2")]
    to_decision = decided[-1] - wall_start if decided else float("nan")
    await wait_for(http, lambda run: run["desired_replicas"] == 0, "zero replicas desired")
    return to_decision, to_ready, rps, time.perf_counter() - stopped


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"), help="where the server log is kept")
    args = parser.parse_args()

    with EmbeddedStack(cpus=10, memory="8GB", keep_log=args.log_dir / "durastack-bench-autoscale.log") as stack:
        async with client(stack, timeout=TIMEOUT) as http:
            await post(http, "runs/apply", {"run_spec": {"configuration": SERVICE}})
            load_before = load()
            colds, decisions, readies, rates, quiets = [], [], [], [], []
            for _ in range(args.rounds):
                colds.append(await cold_start(http))
                to_decision, to_ready, rps, to_zero = await reaction(http)
                decisions.append(to_decision)
                readies.append(to_ready)
                rates.append(rps)
                quiets.append(to_zero)
            problems = stack.log_problems()
            await post(http, "runs/stop", {"runs_names": ["web"], "abort": True})

    rows: list[Row] = [
        ("load average before the rounds", load_before, ""),
        (f"cold start: request to a service at zero → its answer ({args.rounds} rounds)", summary(colds), "≤ 5 s"),
        ("load sent (2 clients)", summary(rates, "rps"), ""),
        ("load starts → autoscaler's event 1 → 2", summary(decisions), ""),
        ("load starts → second replica ready", summary(readies), "≤ 10 s"),
        ("load stops → zero replicas desired (window 5s + scale_down_delay 5s)", summary(quiets), ""),
        *problem_rows(problems),
    ]
    print_table(f"Autoscaling a service (load average at the end: {load()})", rows)


if __name__ == "__main__":
    asyncio.run(main())
