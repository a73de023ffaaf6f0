"""Scheduler throughput: 1,000 replicas placed on 50 hosts x 20 replicas, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.placement [--hosts 50] [--per-host 20] [--concurrency 50]
        [--postgres postgresql://root@127.0.0.1:5432/postgres]

The hosts are simulated: 50 rows joined through the project's own HostStore (each 20 CPUs,
40GB, 4 GPUs; no worker process behind them), in two fleets. Placement is what a run's
`provision_instance` activity does: `Capacity.allocate`, one write transaction per replica that
reads the hosts and what they hold, picks the most-free host and inserts the instance. Requests
come `--concurrency` at a time until every slot is taken; then one more request must say it waits.
A fifth of the replicas ask for a GPU (every GPU is taken in the end). The table gives placements
per second and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.common import load, percentile, print_table
from core.gpus import parse_gpu_spec
from core.jobs import ProvisionRequest
from store.accounts import DEFAULT_PROJECT, Accounts
from store.capacity import Capacity
from store.database import Database
from store.hosts import HostRegistration, HostStore
from store.migrate import upgrade_database

GPUS = [{"index": i, "name": "NVIDIA L4", "memory_mb": 23034} for i in range(4)]


async def measure(url: str, hosts: int, per_host: int, concurrency: int) -> list[tuple[str, str, str]]:
    database = Database(url)
    await upgrade_database(database)
    await Accounts(database).bootstrap("bench")
    for number in range(hosts):
        await HostStore(database).join(HostRegistration(
            host_id=f"sim-{number:03d}", name=f"sim-{number:03d}", backend_type="local", task_queue=f"q-{number}",
            cpu_milli=per_host * 1000, memory_mb=per_host * 2048, price_per_hour=1.0, gpus=GPUS,
            fleet="even" if number % 2 == 0 else "odd"))
    capacity = Capacity(database)
    gpu = parse_gpu_spec("L4")
    requests = [ProvisionRequest(submission_id=str(uuid.uuid4()), run_id=f"run-{n // 10}", project=DEFAULT_PROJECT,
                                 cpu_milli=1000, memory_mb=1024, gpu=gpu if n % 5 == 0 else None)
                for n in range(hosts * per_host)]
    latencies: list[float] = []
    placed: Counter[str] = Counter()
    queue = iter(requests)

    async def place() -> None:
        for request in queue:
            started = time.perf_counter()
            result = await capacity.allocate(request)
            latencies.append(time.perf_counter() - started)
            if result.instance is not None:
                placed[result.instance.host_id] += 1

    started = time.perf_counter()
    await asyncio.gather(*(place() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    extra = await capacity.allocate(ProvisionRequest(submission_id=str(uuid.uuid4()), run_id="extra",
                                                     project=DEFAULT_PROJECT, cpu_milli=1000, memory_mb=1024))
    await database.dispose()
    return [
        ("replicas placed", f"{sum(placed.values())} of {len(requests)}", ""),
        ("hosts used / replicas per host", f"{len(placed)} / {min(placed.values())}..{max(placed.values())}", ""),
        ("placements per second", f"{len(requests) / elapsed:.0f}", ""),
        ("latency p50 / p99 (ms)", f"{percentile(latencies, 0.5) * 1000:.1f} / "
                                   f"{percentile(latencies, 0.99) * 1000:.1f}", ""),
        ("one more replica", extra.reason, ""),
    ]


def throwaway_postgres(admin_url: str) -> tuple[str, str]:
    name = f"durastack_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), name


def drop_postgres(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--per-host", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--postgres", default="postgresql://root@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        rows = asyncio.run(measure(url, args.hosts, args.per_host, args.concurrency))
        print_table(f"SQLite: {args.hosts} hosts x {args.per_host} replicas, {args.concurrency} at a time", rows,
                    ("metric", "result", ""))
    if args.postgres:
        url, name = throwaway_postgres(args.postgres)
        try:
            rows = asyncio.run(measure(url, args.hosts, args.per_host, args.concurrency))
        finally:
            drop_postgres(args.postgres, name)
        print_table(f"PostgreSQL: {args.hosts} hosts x {args.per_host} replicas, {args.concurrency} at a time", rows,
                    ("metric", "result", ""))


if __name__ == "__main__":
    main()
