"""A service rescaled many times: how long each workflow history gets, and how big the state stays.

    .venv/bin/python -m bench.long_lived [--rescales 300 1000] [--log-dir /tmp]

For each count, a fresh embedded stack (SQLite, Temporal dev server) runs the service `web`
(replicas 1..2, `sleep 600`) until one replica runs, then scales it alternately to 2 and 1 through
`runs/scale`, one request after the other, and waits until one replica runs again. It then reads
every execution of the run's workflow id from Temporal: how many executions the run has had
(continue-as-new), the longest history, and the size of the state each execution started with.
Each stack's server.log is kept in --log-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.common import client, post, print_table, problem_rows
from bench.stack import EmbeddedStack

SERVICE = {"type": "service", "name": "web", "port": 8000, "replicas": "1..2", "commands": ["sleep 600"],
           "stop_duration": "1s", "resources": {"cpu": 0.1, "memory": "16MB"}}
TIMEOUT = 120.0


async def wait_for_one_running(http: httpx.AsyncClient) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        run = await post(http, "runs/get", {"run_name": "web"})
        current = [job["job_submissions"][-1]["status"] for job in run["jobs"]]
        if run["running_replicas"] == 1 and all(status in ("running", "terminated") for status in current):
            return run
        await asyncio.sleep(0.2)
    raise TimeoutError(f"web did not settle at one running replica within {TIMEOUT:.0f} s")


async def executions(temporal_address: str, workflow_id: str) -> list[tuple[int, int]]:
    """(history events, bytes of the input it started with) of each execution, oldest first."""
    temporal = await Client.connect(temporal_address)
    found = []
    async for execution in temporal.list_workflows(f"WorkflowId='{workflow_id}'"):
        history = await temporal.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        found.append((execution.start_time, len(history.events), sum(len(p.data) for p in started.input.payloads)))
    return [(events, size) for _, events, size in sorted(found)]


async def measure(rescales: int, log_dir: Path) -> list[tuple[str, str, str]]:
    with EmbeddedStack(cpus=10, memory="8GB", keep_log=log_dir / f"durastack-bench-long-lived-{rescales}.log") as stack:
        async with client(stack) as http:
            await post(http, "runs/apply", {"run_spec": {"configuration": SERVICE}})
            await wait_for_one_running(http)
            started = time.perf_counter()
            for round_ in range(rescales):
                answer = await post(http, "runs/scale", {"runs_names": ["web"], "replicas": 2 - round_ % 2})
                if answer["results"][0]["outcome"] != "scaled":
                    raise RuntimeError(f"rescale {round_}: {answer['results'][0]['outcome']}")
            elapsed = time.perf_counter() - started
            run = await wait_for_one_running(http)
            found = await executions(f"127.0.0.1:{stack.env['DURASTACK_TEMPORAL_PORT']}", run["workflow_id"])
            submissions = sum(len(job["job_submissions"]) for job in run["jobs"])
            problems = stack.log_problems()
            await post(http, "runs/stop", {"runs_names": ["web"], "abort": True})
    histories = [events for events, _ in found]
    sizes = [size for _, size in found]
    return [
        (f"{rescales} rescales: time for the requests", f"{elapsed:.1f} s ({rescales / elapsed:.1f}/s)", ""),
        ("executions of the workflow (continue-as-new)", str(len(found)), ""),
        ("longest history", f"{max(histories)} events", "< 2,000"),
        ("events, all executions together", str(sum(histories)), ""),
        ("state each execution started with", f"{min(sizes) / 1024:.1f} to {max(sizes) / 1024:.1f} KiB", "bounded"),
        ("submissions listed by runs/get", f"{submissions} (expected {1 + rescales // 2})", ""),
        *problem_rows(problems),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rescales", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"), help="where the server logs are kept")
    args = parser.parse_args()
    for rescales in args.rescales:
        print_table(f"A service rescaled {rescales} times", await measure(rescales, args.log_dir))


if __name__ == "__main__":
    asyncio.run(main())
