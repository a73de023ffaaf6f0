"""Submit → first replica `running` on the embedded default (SQLite, Temporal dev server).

    .venv/bin/python -m bench.submit_to_running [--sequential 50] [--concurrent 200]

Prints a table. Latency is measured by the client: from just before the apply request to
the first `runs/get` answer (a workflow query) that shows a replica running.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.stack import EmbeddedStack

TASK = {"type": "task", "commands": ["sleep 600"], "resources": {"cpu": 0.1, "memory": "16MB"}}


async def _apply(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post("/api/project/main/runs/apply",
                                 json={"run_spec": {"configuration": {**TASK, "name": name}}})
    response.raise_for_status()


async def _running(client: httpx.AsyncClient, name: str) -> bool:
    response = await client.post("/api/project/main/runs/get", json={"run_name": name})
    response.raise_for_status()
    return bool(response.json()["running_replicas"] >= 1)


async def _stop_all(client: httpx.AsyncClient, names: list[str]) -> None:
    response = await client.post("/api/project/main/runs/stop", json={"runs_names": names, "abort": True},
                                 timeout=120)
    response.raise_for_status()


async def sequential(client: httpx.AsyncClient, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        name = f"seq-{i}"
        started = time.perf_counter()
        await _apply(client, name)
        # Polling the API is what a client does, so it is what is measured.
        while not await _running(client, name):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        latencies.append(time.perf_counter() - started)
        await _stop_all(client, [name])
    return latencies


async def concurrent(client: httpx.AsyncClient, count: int) -> tuple[float, float]:
    """Seconds until every run was accepted, and until every run had a replica running."""
    names = [f"con-{i}" for i in range(count)]
    started = time.perf_counter()
    limit = asyncio.Semaphore(32)

    async def submit(name: str) -> None:
        async with limit:
            await _apply(client, name)

    await asyncio.gather(*(submit(name) for name in names))
    accepted = time.perf_counter() - started
    pending = set(names)
    while pending:
        response = await client.post("/api/project/main/runs/list", json={"only_active": True, "limit": 1000})
        response.raise_for_status()
        pending -= {run["run_name"] for run in response.json() if run["running_replicas"] >= 1}
        if pending:
            await asyncio.sleep(0.25)
    return accepted, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()

    with EmbeddedStack(cpus=args.concurrent * 0.1 + 10, memory="64GB") as stack:
        async with httpx.AsyncClient(base_url=stack.url, timeout=60,
                                     headers={"Authorization": f"Bearer {stack.token}"}) as client:
            await sequential(client, 3)  # warm-up: imports, first workflow tasks, SQLite pages
            latencies = await sequential(client, args.sequential)
            idle_rss, _ = stack.rss_mb()
            accepted, all_running = await concurrent(client, args.concurrent)
            server_rss, runners_rss = stack.rss_mb()
            await _stop_all(client, [f"con-{i}" for i in range(args.concurrent)])

    rows = [
        ("sequential runs", f"{args.sequential}"),
        ("submit → running, median", f"{statistics.median(latencies) * 1000:.0f} ms"),
        ("submit → running, p95", f"{percentile(latencies, 0.95) * 1000:.0f} ms"),
        ("submit → running, max", f"{max(latencies) * 1000:.0f} ms"),
        ("concurrent runs", f"{args.concurrent}"),
        ("all accepted (apply answered)", f"{accepted:.2f} s"),
        ("all running (seen in runs/list)", f"{all_running:.2f} s"),
        ("server RSS idle (API + workers)", f"{idle_rss:.0f} MB"),
        (f"server RSS with {args.concurrent} running", f"{server_rss:.0f} MB"),
        (f"runner processes RSS, {args.concurrent} replicas", f"{runners_rss:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    asyncio.run(main())
