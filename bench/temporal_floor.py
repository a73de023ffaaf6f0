"""The least the embedded Temporal dev server needs to stop N running workflows, durastack aside.

    .venv/bin/python -m bench.temporal_floor [--sizes 100,1000] [--modes complete,activity]

Starts the dev server exactly as `durastack server` does (server/temporal.py: SQLite file in WAL
mode, the same dynamic config) and a worker with a workflow that does nothing but wait for one
signal. For each size N and mode, N such workflows are started and left waiting; then each gets
its signal (64 in flight) and the clock runs until all N have completed:

- `complete`: the signal completes the workflow (one workflow task, then the close);
- `activity`: the signal runs one activity, then completes (a stop that does one thing on the host).

A stopped durastack run does at least what `activity` does: it receives a signal, runs the
terminate activity, and closes. It also writes its projection, releases its instance and keeps
its search attribute current. The workflow runs without the sandbox, the cheapest the Python
SDK can do, so the table is a floor for the Temporal side of any durastack stop. It prints wall
time and CPU per workflow for the dev server and for this process (the worker and the client).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import psutil
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.common import load, print_table
from server.temporal import connect, start_dev_server
from tests.support.ports import free_port

TASK_QUEUE = "floor"
IN_FLIGHT = 64
A = TypeVar("A")
T = TypeVar("T")


@activity.defn
async def act() -> None:
    return None


@workflow.defn
class SignalledWorkflow:
    def __init__(self) -> None:
        self._mode: str | None = None

    @workflow.signal
    def go(self, mode: str) -> None:
        self._mode = mode

    @workflow.query
    def ready(self) -> bool:
        return True

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._mode is not None)
        if self._mode == "activity":
            await workflow.execute_activity(act, start_to_close_timeout=timedelta(seconds=30))


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def for_each(items: Sequence[A], call: Callable[[A], Awaitable[T]]) -> list[T]:
    """`call` on every item, IN_FLIGHT at a time."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(item: A) -> T:
        async with gate:
            return await call(item)

    return await asyncio.gather(*(one(item) for item in items))


async def scenario(client: Client, temporal: psutil.Process, mode: str, count: int) -> tuple[str, str, str]:
    async def start(number: int) -> WorkflowHandle[SignalledWorkflow, None]:
        return await client.start_workflow(SignalledWorkflow.run, id=f"floor-{mode}-{number}-{uuid.uuid4().hex[:8]}",
                                           task_queue=TASK_QUEUE)

    async def ready(handle: WorkflowHandle[SignalledWorkflow, None]) -> None:
        await handle.query(SignalledWorkflow.ready)

    async def signal(handle: WorkflowHandle[SignalledWorkflow, None]) -> None:
        await handle.signal(SignalledWorkflow.go, mode)

    async def result(handle: WorkflowHandle[SignalledWorkflow, None]) -> None:
        await handle.result()

    handles = await for_each(range(count), start)
    # A query is answered once the workflow's first task has run: then all N wait for their signal.
    await for_each(handles, ready)
    me = psutil.Process()
    temporal_before, me_before, started = cpu_seconds(temporal), cpu_seconds(me), time.perf_counter()
    await for_each(handles, signal)
    await for_each(handles, result)
    wall = time.perf_counter() - started
    temporal_ms = (cpu_seconds(temporal) - temporal_before) / count * 1000
    worker_ms = (cpu_seconds(me) - me_before) / count * 1000
    return (f"{count} workflows, signal → {'activity → ' if mode == 'activity' else ''}complete",
            f"{wall:.2f} s", f"Temporal {temporal_ms:.1f} ms, worker + client {worker_ms:.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--modes", default="complete,activity")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="durastack-floor-"))
    port = free_port()
    server = start_dev_server(directory / "temporal.db", port, None, directory / "temporal.log")
    rows: list[tuple[str, str, str]] = []
    try:
        client = await connect(f"127.0.0.1:{port}", "default", embedded=server)
        temporal = psutil.Process(server.pid)
        async with Worker(client, task_queue=TASK_QUEUE, workflows=[SignalledWorkflow], activities=[act],
                          workflow_runner=UnsandboxedWorkflowRunner(), max_cached_workflows=5000,
                          max_workflow_task_external_storage_concurrency=1):
            for count in (int(size) for size in args.sizes.split(",")):
                for mode in args.modes.split(","):
                    rows.append(await scenario(client, temporal, mode, count))
                    print(f"  {rows[-1]}  (load {load()})", flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(directory, ignore_errors=True)
    print_table("Temporal dev server floor: N waiting workflows signalled, until all completed", rows,
                header=("scenario", "all completed after", "CPU per workflow"))


if __name__ == "__main__":
    asyncio.run(main())
