"""Stopping many running runs: one batch request, and many single-run requests at once.

    .venv/bin/python -m bench.stop_runs [--sizes 100,1000] [--parallel 100] [--command "sleep 3600"]
        [--ramp-timeout 900] [--log-dir /tmp]

For each size N, a fresh embedded stack (SQLite, Temporal dev server) starts N tasks (the
command, cpu 0.05, memory 8MB, stop_duration 1s; 32 applies in flight) and waits until every one
has a replica running (runs/list only_active every second, every 5 s above 200 runs), or until
--ramp-timeout, after which it stops them anyway and says how many were running. Then ONE
`runs/stop {"runs_names": [all N], "abort": false}`: the request's latency (its answer is the
acknowledgement: one outcome per run, signals sent) and the time from sending it until
`runs/list {"only_active": true, "limit": 1}` (polled every 0.25 s) answers no run: the stack
holds only the benchmark's runs, so one row tells whether any is still active, and the client's
polling costs the server next to nothing;
also the CPU the server and Temporal used meanwhile, the spread of the runs' finished_at, and
the event timeline of the slowest run. With `--parallel M`, another fresh stack stops M running
runs with M single-run `runs/stop` requests sent at once.

The command defaults to `sleep 3600`, not 600: on a busy 2-core machine 1,000 runs can take
longer than 10 minutes to start, and the first would end on their own. Prints a table per
scenario as it ends, then all of them; server.log is kept in --log-dir. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
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
STOP_REQUEST_TIMEOUT = 300.0

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


async def wait_terminal(http: httpx.AsyncClient, since: float) -> float | None:
    """Seconds from `since` until no run of the stack is active any more; None on timeout."""
    while time.perf_counter() - since < TERMINAL_TIMEOUT:
        if not await post(http, "runs/list", {"only_active": True, "limit": 1}):
            return time.perf_counter() - since
        await asyncio.sleep(POLL_SECONDS)
    return None


async def final_statuses(http: httpx.AsyncClient, names: list[str], stop_sent_at: datetime) -> list[Row]:
    """How the runs ended; when (the server's finished_at after the stop was sent: min, median,
    max); and the event timeline of the slowest, relative to the stop."""
    wanted = set(names)
    runs = [run for run in await list_all(http, only_active=False) if run["run_name"] in wanted]
    counts = Counter(f"{run['status']}/{run['termination_reason']}" for run in runs)
    rows: list[Row] = [("final statuses", ", ".join(f"{count} {what}" for what, count in counts.most_common()),
                        f"{len(names)} terminated/stopped_by_user")]
    finished = sorted(((datetime.fromisoformat(run["finished_at"]) - stop_sent_at).total_seconds(), run["run_name"])
                      for run in runs if run["finished_at"])
    if finished:
        median = finished[len(finished) // 2][0]
        rows.append(("finished_at after the stop: min / median / max",
                     f"{finished[0][0]:.2f} / {median:.2f} / {finished[-1][0]:.2f} s", ""))
        slowest = await post(http, "runs/get", {"run_name": finished[-1][1]})
        timeline = [f"{(datetime.fromisoformat(event['timestamp']) - stop_sent_at).total_seconds():+.2f} s "
                    f"{event['message']}" for event in slowest["events"]
                    if datetime.fromisoformat(event["timestamp"]) >= stop_sent_at - timedelta(seconds=1)]
        rows.append((f"slowest ({finished[-1][1]}): events after the stop", "; ".join(timeline), ""))
    return rows


async def warm_up(http: httpx.AsyncClient) -> None:
    """Imports, first workflow tasks and SQLite pages, so the measured stop is not the first."""
    names = [f"warm-{i}" for i in range(3)]
    await start_running(http, names, timeout=60)
    await post(http, "runs/stop", {"runs_names": names, "abort": False})
    await wait_terminal(http, time.perf_counter())


def fmt(seconds: float | None, unit: str = "s") -> str:
    if seconds is None:
        return f"not within {TERMINAL_TIMEOUT:.0f} s"
    return f"{seconds * 1000:.0f} ms" if unit == "ms" else f"{seconds:.2f} s"


def cpu_rows(what: str, before: tuple[float, float], after: tuple[float, float], wall: float) -> list[Row]:
    """CPU the server and Temporal used from the stop until all were terminal (the client's
    runs/list polling included): with two cores, 2 s of CPU per second is everything."""
    server, temporal = after[0] - before[0], after[1] - before[1]
    return [(f"{what}: CPU until all terminal ({wall:.1f} s)",
             f"server {server:.1f} s, Temporal {temporal:.1f} s", "")]


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
        async with client(stack, timeout=STOP_REQUEST_TIMEOUT) as http:
            await warm_up(http)
            to_running, not_running = await start_running(http, names, ramp_timeout)
            load_before = load()
            cpu_before = stack.cpu_seconds()
            sent_at, started = datetime.now(UTC), time.perf_counter()
            try:
                answer = await post(http, "runs/stop", {"runs_names": names, "abort": False})
                acknowledged: float | None = time.perf_counter() - started
                outcomes = ", ".join(f"{n} {o}" for o, n in Counter(r["outcome"] for r in answer["results"]).items())
            except httpx.TimeoutException:
                acknowledged, outcomes = None, f"no answer within {STOP_REQUEST_TIMEOUT:.0f} s"
            terminal = await wait_terminal(http, started)
            cpu = cpu_rows(f"stop {count}", cpu_before, stack.cpu_seconds(), time.perf_counter() - started)
            statuses = await final_statuses(http, names, sent_at)
            problems = stack.log_problems()
    targets = {100: ("≤ 300 ms", "≤ 3 s"), 1000: ("", "≤ 15 s")}.get(count, ("", ""))
    return [
        *ramp_rows(count, to_running, not_running, ramp_timeout),
        (f"{count} runs: load average before the stop", load_before, ""),
        (f"stop {count} (one request): acknowledged",
         fmt(acknowledged, "ms") if acknowledged is not None else "no answer", targets[0]),
        (f"stop {count} (one request): outcomes", outcomes, ""),
        (f"stop {count} (one request): all terminal", fmt(terminal), targets[1]),
        *cpu,
        *((f"stop {count}: {name}", value, target) for name, value, target in statuses),
        *((f"stop {count}: {name}", value, target) for name, value, target in problem_rows(problems)),
    ]


async def parallel_stop(count: int, log: Path, ramp_timeout: float) -> list[Row]:
    names = [f"single-{i}" for i in range(count)]
    with stack_for(count, log) as stack:
        async with client(stack, connections=count) as http:
            await warm_up(http)
            to_running, not_running = await start_running(http, names, ramp_timeout)
            load_before = load()
            cpu_before = stack.cpu_seconds()
            sent_at, started = datetime.now(UTC), time.perf_counter()

            async def stop_one(name: str) -> tuple[str, float]:
                answer = await post(http, "runs/stop", {"runs_names": [name], "abort": False})
                return answer["results"][0]["outcome"], time.perf_counter() - started

            answers = await asyncio.gather(*(stop_one(name) for name in names))
            all_answered = time.perf_counter() - started
            terminal = await wait_terminal(http, started)
            cpu = cpu_rows(f"stop {count} (single)", cpu_before, stack.cpu_seconds(), time.perf_counter() - started)
            statuses = await final_statuses(http, names, sent_at)
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
        *cpu,
        *((f"stop {count} (single): {name}", value, target) for name, value, target in statuses),
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
