"""Stopping many running runs: one batch request, and many single-run requests at once.

    .venv/bin/python -m bench.stop_runs [--sizes 100,1000] [--parallel 100] [--command "sleep 3600"]
        [--ramp-timeout 900] [--log-dir /tmp]

For each size N, a fresh embedded stack (SQLite, Temporal dev server) starts N tasks (the
command, cpu 0.05, memory 8MB, stop_duration 1s; 32 applies in flight) and waits until every one
has a replica running (runs/list only_active every 1 s, 5 s above 200 runs), or until --ramp-timeout, after which it
stops them anyway and says how many were running. Then ONE `runs/stop {"runs_names": [all N],
"abort": false}`: the request's latency (its answer is the acknowledgement: one outcome per run,
signals sent) and the time from sending it until `runs/list only_active` (polled every 0.25 s,
paginated by 1000) no longer shows any of them. With `--parallel M`, another fresh stack stops M
running runs with M single-run `runs/stop` requests sent at once. The command defaults to
`sleep 3600`, not 600: on a busy 2-core machine 1,000 runs can take longer than 10 minutes to
start, and the first would end on their own. Prints a table per scenario; server.log is kept in
--log-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import TERMINAL, client, list_all, load, post, print_table, problem_rows
from bench.stack import EmbeddedStack

TASK: dict[str, Any] = {"type": "task", "commands": ["sleep 3600"], "stop_duration": "1s",
                        "resources": {"cpu": 0.05, "memory": "8MB"}}
POLL_SECONDS = 0.25
# Listing 1,000 active runs costs the server about 0.4 s of CPU, so large ramps are polled less often.
RAMP_POLL_SECONDS = {200: 1.0, 10**9: 5.0}
TERMINAL_TIMEOUT = 600.0

Row = tuple[str, str, str]


async def start_running(http: httpx.AsyncClient, names: list[str], timeout: float = 900) -> tuple[float, Counter[str]]:
    """Applies the runs (32 requests in flight) and waits until each has a replica running, or
    the timeout. Returns the seconds, and the statuses of the runs not running then."""
    started = time.perf_counter()
    limit = asyncio.Semaphore(32)

    async def apply(name: str) -> None:
        async with limit:
            await post(http, "runs/apply", {"run_spec": {"configuration": {**TASK, "name": name}}})

    await asyncio.gather(*(apply(name) for name in names))
    wanted = set(names)
    while True:
        runs = {run["run_name"]: run for run in await list_all(http, only_active=True) if run["run_name"] in wanted}
        not_running = Counter(run["status"] for run in runs.values() if run["running_replicas"] < 1)
        not_running["finished"] = len(wanted) - len(runs)
        not_running = +not_running  # drops zero counts
        elapsed = time.perf_counter() - started
        print(f"  {elapsed:6.0f} s: {len(names) - sum(not_running.values())} of {len(names)} running; "
              f"load {load()}", file=sys.stderr, flush=True)
        if not not_running or elapsed > timeout:
            return elapsed, not_running
        await asyncio.sleep(next(pause for size, pause in RAMP_POLL_SECONDS.items() if len(names) <= size))


async def wait_terminal(http: httpx.AsyncClient, names: list[str], since: float) -> float | None:
    """Seconds from `since` until no run of `names` is active any more; None on timeout."""
    wanted = set(names)
    while time.perf_counter() - since < TERMINAL_TIMEOUT:
        active = {run["run_name"] for run in await list_all(http, only_active=True)}
        if not wanted & active:
            return time.perf_counter() - since
        await asyncio.sleep(POLL_SECONDS)
    return None


async def final_statuses(http: httpx.AsyncClient, names: list[str]) -> str:
    wanted = set(names)
    counts = Counter(f"{run['status']}/{run['termination_reason']}"
                     for run in await list_all(http, only_active=False) if run["run_name"] in wanted)
    return ", ".join(f"{count} {what}" for what, count in counts.most_common())


async def warm_up(http: httpx.AsyncClient) -> None:
    """Imports, first workflow tasks and SQLite pages, so the measured stop is not the first."""
    names = [f"warm-{i}" for i in range(3)]
    await start_running(http, names, timeout=60)
    await post(http, "runs/stop", {"runs_names": names, "abort": False})
    await wait_terminal(http, names, time.perf_counter())


def fmt(seconds: float | None, unit: str = "s") -> str:
    if seconds is None:
        return f"not within {TERMINAL_TIMEOUT:.0f} s"
    return f"{seconds * 1000:.0f} ms" if unit == "ms" else f"{seconds:.2f} s"


def stack_for(count: int, log: Path) -> EmbeddedStack:
    return EmbeddedStack(cpus=count * 0.05 + 10, memory="64GB", keep_log=log)


def ramp_rows(count: int, to_running: float, not_running: Counter[str], timeout: float) -> list[Row]:
    if not not_running:
        return [(f"{count} runs: all running after submit", fmt(to_running), "")]
    what = ", ".join(f"{n} {status}" for status, n in not_running.most_common())
    return [(f"{count} runs: NOT all running after {timeout:.0f} s", f"{count - sum(not_running.values())} running; "
             f"not running: {what}", f"all {count}")]


async def batch_stop(count: int, log: Path, ramp_timeout: float) -> list[Row]:
    names = [f"stop-{i}" for i in range(count)]
    with stack_for(count, log) as stack:
        async with client(stack) as http:
            await warm_up(http)
            to_running, not_running = await start_running(http, names, ramp_timeout)
            load_before = load()
            started = time.perf_counter()
            answer = await post(http, "runs/stop", {"runs_names": names, "abort": False})
            acknowledged = time.perf_counter() - started
            terminal = await wait_terminal(http, names, started)
            outcomes = Counter(result["outcome"] for result in answer["results"])
            statuses = await final_statuses(http, names)
            problems = stack.log_problems()
    targets = {100: ("≤ 300 ms", "≤ 3 s"), 1000: ("", "≤ 15 s")}.get(count, ("", ""))
    return [
        *ramp_rows(count, to_running, not_running, ramp_timeout),
        (f"{count} runs: load average before the stop", load_before, ""),
        (f"stop {count} (one request): acknowledged", fmt(acknowledged, "ms"), targets[0]),
        (f"stop {count} (one request): outcomes", ", ".join(f"{n} {o}" for o, n in outcomes.items()), ""),
        (f"stop {count} (one request): all terminal", fmt(terminal), targets[1]),
        (f"stop {count}: final statuses", statuses, f"{count} terminated/stopped_by_user"),
        *((f"stop {count}: {name}", value, target) for name, value, target in problem_rows(problems)),
    ]


async def parallel_stop(count: int, log: Path, ramp_timeout: float) -> list[Row]:
    names = [f"single-{i}" for i in range(count)]
    with stack_for(count, log) as stack:
        async with client(stack, connections=count) as http:
            await warm_up(http)
            to_running, not_running = await start_running(http, names, ramp_timeout)
            load_before = load()
            started = time.perf_counter()

            async def stop_one(name: str) -> tuple[str, float]:
                answer = await post(http, "runs/stop", {"runs_names": [name], "abort": False})
                return answer["results"][0]["outcome"], time.perf_counter() - started

            answers = await asyncio.gather(*(stop_one(name) for name in names))
            all_answered = time.perf_counter() - started
            terminal = await wait_terminal(http, names, started)
            statuses = await final_statuses(http, names)
            problems = stack.log_problems()
    outcomes = Counter(outcome for outcome, _ in answers)
    answered = sorted(at for _, at in answers)
    return [
        *ramp_rows(count, to_running, not_running, ramp_timeout),
        (f"{count} runs: load average before the stop", load_before, ""),
        (f"stop {count} (single requests): first answered", fmt(answered[0], "ms"), ""),
        (f"stop {count} (single requests): median answered", fmt(answered[len(answered) // 2], "ms"), ""),
        (f"stop {count} (single requests): all answered", fmt(all_answered, "ms"), ""),
        (f"stop {count} (single requests): outcomes", ", ".join(f"{n} {o}" for o, n in outcomes.items()), ""),
        (f"stop {count} (single requests): all terminal", fmt(terminal), "≤ 3 s" if count == 100 else ""),
        (f"stop {count} (single): final statuses", statuses, f"{count} terminated/stopped_by_user"),
        *((f"stop {count} (single): {name}", value, target) for name, value, target in problem_rows(problems)),
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="comma-separated run counts for the batch stop")
    parser.add_argument("--parallel", type=int, default=100, help="runs stopped by single requests (0: skip)")
    parser.add_argument("--command", default="sleep 3600", help="what each task runs")
    parser.add_argument("--ramp-timeout", type=float, default=900, help="seconds to wait for all to run")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"), help="where server logs are kept")
    args = parser.parse_args()
    TASK["commands"] = [args.command]

    rows: list[Row] = []
    for count in (int(size) for size in args.sizes.split(",") if size):
        scenario = await batch_stop(count, args.log_dir / f"durastack-bench-stop-{count}.log", args.ramp_timeout)
        print_table(f"Stop {count} with one request (load average now: {load()})", scenario)
        rows += scenario
    if args.parallel:
        scenario = await parallel_stop(args.parallel, args.log_dir / f"durastack-bench-stop-single-{args.parallel}.log",
                                       args.ramp_timeout)
        print_table(f"Stop {args.parallel} with single requests (load average now: {load()})", scenario)
        rows += scenario
    print_table(f"Stopping running runs, all scenarios (terminal = {', '.join(sorted(TERMINAL))})", rows)


if __name__ == "__main__":
    asyncio.run(main())
