"""`runs/list` latency with 10,000 finished runs in the database, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.list_runs [--runs 10000] [--calls 200] [--deep-calls 50]
        [--postgres postgresql://root@127.0.0.1:5432/postgres] [--profile 10] [--gc-trace] [--log-dir /tmp]

No workflows are run: the runs are written straight into a fresh database with the project's
own store (migrations, `Accounts.bootstrap`, `RunStore.create` + `RunStore.write_projection`),
each a finished RunState (done, stopped or failed; 1 or 2 replicas; the events the workflow would
have recorded), submitted over about two weeks with some runs sharing a `submitted_at`. Then an
embedded stack starts on that database and the client measures, one call after the other:
`runs/list {"limit": 100}` (the first page) `--calls` times, and a deep page (keyset cursor
`prev_submitted_at`/`prev_run_id` at the middle run) `--deep-calls` times, after 10 warm-up
calls each. PostgreSQL gets a throwaway database (`durastack_bench_<random>`), dropped at the
end; `--postgres ''` skips it. With `--profile S`, py-spy samples the server for S seconds while
first pages are listed, and the script prints where the time goes (inclusive shares). With
`--gc-trace`, the server logs its garbage collections (bench/gctrace/sitecustomize.py) and the
table says how many full collections ran during the calls and how many slow calls they overlap.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.common import client, load, percentile, print_table, problem_rows
from bench.stack import REPO, EmbeddedStack
from core.configuration import parse_configuration
from core.run_state import RunState, StopRequest
from core.statuses import JobStatus, JobTerminationReason, RunStatus, RunTerminationReason
from store.accounts import ADMIN_USER, DEFAULT_PROJECT, Accounts
from store.database import Database
from store.migrate import upgrade_database
from store.models import ProjectModel, UserModel
from store.runs import NewRun, RunStore

START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_P95_MS = 50.0

Row = tuple[str, str, str]
Key = tuple[datetime, str]


def finished_state(index: int, run_id: str, submitted_at: datetime, rng: random.Random) -> RunState:
    """What a RunWorkflow leaves behind for a task or service that ran and ended."""
    replicas = rng.choice([1, 1, 1, 2])
    name = f"train-{index}"
    configuration = parse_configuration({
        "type": "task", "name": name, "replicas": replicas,
        "commands": ["pip install -r requirements.txt", f"python train.py --epochs 3 --seed {index}"],
        "env": {"SEED": str(index), "WANDB_PROJECT": "bench"}, "working_dir": "/srv/project",
        "resources": {"cpu": rng.choice([0.5, 1, 2]), "memory": rng.choice(["512MB", "2GB"])},
        "max_duration": "1h", "stop_duration": "30s", "retry": {"on_events": ["error"], "duration": "10m"},
    })
    state = RunState(run_id=run_id, run_name=name, project=DEFAULT_PROJECT, user=ADMIN_USER,
                     workflow_id=f"run-{DEFAULT_PROJECT}-{name}-{run_id[:8]}", configuration=configuration,
                     desired_replicas=replicas, submitted_at=submitted_at)
    at = submitted_at
    submissions = []
    for replica_num in range(replicas):
        submission = state.add_submission(str(uuid.UUID(int=rng.getrandbits(128))), replica_num, at)
        at += timedelta(milliseconds=rng.randint(20, 200))
        submission.host_id, submission.host_name = "local-bench", "bench"
        submission.instance_id, submission.price_per_hour = str(uuid.uuid4()), 0.25
        state.set_job_status(submission, JobStatus.PROVISIONING, at)
        state.set_run_status(RunStatus.PROVISIONING, at)
        at += timedelta(milliseconds=rng.randint(100, 400))
        submission.pid = rng.randint(1000, 99999)
        state.set_job_status(submission, JobStatus.RUNNING, at)
        state.set_run_status(RunStatus.RUNNING, at)
        submissions.append(submission)
    at += timedelta(seconds=rng.randint(5, 3000))
    outcome = rng.choices(["done", "stopped", "failed"], weights=[6, 3, 1])[0]
    if outcome == "stopped":
        state.stop = StopRequest()
        state.record(at, "stop requested")
        state.set_run_status(RunStatus.TERMINATING, at)
        for submission in submissions:
            state.set_job_status(submission, JobStatus.TERMINATING, at)
        at += timedelta(milliseconds=rng.randint(100, 2000))
        for submission in submissions:
            state.finish_job(submission, JobTerminationReason.TERMINATED_BY_USER, at, exit_code=143)
        state.finish_run(RunTerminationReason.STOPPED_BY_USER, at)
    elif outcome == "failed":
        state.finish_job(submissions[0], JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, at, exit_code=1)
        state.record(at, "run failing: job_failed")
        for submission in submissions[1:]:
            state.finish_job(submission, JobTerminationReason.TERMINATED_BY_SERVER, at, exit_code=143)
        state.finish_run(RunTerminationReason.JOB_FAILED, at)
    else:
        for submission in submissions:
            state.finish_job(submission, JobTerminationReason.DONE_BY_RUNNER, at, exit_code=0)
        state.finish_run(RunTerminationReason.ALL_JOBS_DONE, at)
    return state


async def populate(url: str, token: str, count: int, seed: int = 1) -> list[Key]:
    """Writes `count` finished runs; returns their (submitted_at, id), newest first."""
    database = Database(url)
    try:
        await upgrade_database(database)
        await Accounts(database).bootstrap(token)
        async with database.read() as session:
            project_id = (await session.execute(
                select(ProjectModel.id).where(ProjectModel.name == DEFAULT_PROJECT))).scalar_one()
            user_id = (await session.execute(select(UserModel.id).where(UserModel.name == ADMIN_USER))).scalar_one()
        runs = RunStore(database)
        rng = random.Random(seed)
        keys: list[Key] = []
        submitted_at = START
        for index in range(count):
            # About 15% share the previous run's submitted_at (a burst of applies, or a coarse clock).
            if index == 0 or rng.random() >= 0.15:
                submitted_at += timedelta(seconds=rng.uniform(1, 240))
            keys.append((submitted_at, str(uuid.UUID(int=rng.getrandbits(128)))))
        limit = asyncio.Semaphore(16)

        async def write(index: int, key: Key) -> None:
            state = finished_state(index, key[1], key[0], random.Random(seed * 1_000_003 + index))
            async with limit:
                await runs.create(NewRun(
                    id=state.run_id, project_id=project_id, user_id=user_id, run_name=state.run_name,
                    workflow_id=state.workflow_id, desired_replicas=state.desired_replicas,
                    configuration=state.configuration.model_dump(mode="json", by_alias=True),
                    submitted_at=state.submitted_at))
                assert state.finished_at is not None
                await runs.write_projection(state, cost=state.cost(state.finished_at))

        await asyncio.gather(*(write(index, key) for index, key in enumerate(keys)))
    finally:
        await database.dispose()
    return sorted(keys, reverse=True)


Call = tuple[float, float]  # unix time at the start, seconds


async def timed_calls(http: httpx.AsyncClient, body: dict[str, Any], calls: int) -> tuple[list[Call], Any]:
    timings = []
    page: Any = None
    for _ in range(calls):
        at, started = time.time(), time.perf_counter()
        response = await http.post("/api/project/main/runs/list", json=body)
        response.raise_for_status()
        timings.append((at, time.perf_counter() - started))
        page = response.json()
    return timings, page


def gc_rows(name: str, gc_log: Path, calls: list[Call]) -> list[Row]:
    """Full (generation 2) collections of the server while the calls ran, and how many of the
    slow calls (over twice the median) one of them overlapped."""
    start, end = calls[0][0], calls[-1][0] + calls[-1][1]
    full = []  # (start, end, ms)
    for line in gc_log.read_text().splitlines():
        at, generation, ms, _ = line.split()
        if generation == "2" and start <= float(at) <= end + 1:
            full.append((float(at) - float(ms) / 1000, float(at), float(ms)))
    median = percentile([seconds for _, seconds in calls], 0.5)
    slow = [(at, seconds) for at, seconds in calls if seconds > 2 * median]
    overlapped = sum(1 for at, seconds in slow if any(b < at + seconds and e > at for b, e, _ in full))
    durations = [ms for _, _, ms in full]
    return [
        (f"{name}: server full GCs (gen 2) during the {len(calls)} calls",
         f"{len(full)}, median {percentile(durations, 0.5):.0f} ms" if full else "0", ""),
        (f"{name}: calls over twice the median that overlap a full GC", f"{overlapped} of {len(slow)}", ""),
    ]


def profile(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(REPO / ".venv" / "bin" / "py-spy"), "record", "-p", str(pid), "-o", str(output),
                             "-f", "raw", "-d", str(seconds), "-r", "200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# What the profile is split into: (label, frames that must all be in a stack, in order, adjacent
# when joined by ">"). Shares are inclusive and overlap (the handler contains the rest).
PROFILE_PARTS: list[tuple[str, str]] = [
    ("RunsController.list_runs: the whole handler", "RunsController.list_runs"),
    ("  provide_access: auth (token → user, project, membership: 3 queries)", "provide_access"),
    ("  RunStore.list_runs: the list query (execute, fetch, ORM rows)", "RunStore.list_runs"),
    ("  Accounts.user_names: the user-name query", "Accounts.user_names"),
    ("  RunService._from_row (100 rows → Run)", "RunService._from_row"),
    ("    RunState.model_validate(row.state)", "RunService._from_row>BaseModel.model_validate"),
    ("    parse_configuration(row.configuration)", "RunService._from_row>parse_configuration"),
    ("    RunService._from_state: Run, JobInfo, JobSubmissionInfo, events", "RunService._from_state"),
    ("      configuration_to_yaml_dict", "RunService._from_state>*>configuration_to_yaml_dict"),
    ("response: Response.to_asgi_response + send (msgspec encoding)",
     "Response.to_asgi_response|ASGIResponse.__call__"),
    ("SQLAlchemy greenlet fragments (stack cut at Session.*: row loading of the queries)", "^Session."),
    ("JSON decoding of the state and configuration columns (json.loads, anywhere)", "JSONDecoder.decode"),
    ("aiosqlite worker thread (SQLite in C, or waiting for the GIL)", "_connection_worker_thread"),
    ("Temporal SDK (workers)", "temporalio/"),
    ("event loop waiting in epoll", "EpollSelector.select$"),
    ("idle thread-pool worker (sampled while waiting)", "_worker$"),
]


def _matches(frames: list[str], paths: list[str], pattern: str) -> bool:
    """`A>B`: B called by A; `A>*>B`: B somewhere under A; `^A`: the stack starts at A; `A$`: A is
    the leaf; `dir/`: any frame from that directory; `P|Q`: either."""
    if "|" in pattern:
        return any(_matches(frames, paths, part) for part in pattern.split("|"))
    if pattern.startswith("^"):
        return bool(frames) and frames[0].startswith(pattern[1:])
    if pattern.endswith("$"):
        return bool(frames) and frames[-1] == pattern[:-1]
    if pattern.endswith("/"):
        return any(pattern in path for path in paths)
    regex, separator = "", ""
    for step in pattern.split(">"):
        if step == "*":
            separator = "\n(?:.*\n)*"  # any frames in between
            continue
        regex += separator + re.escape(step)
        separator = "\n"
    return re.search(f"(?:^|\n){regex}(?:\n|$)", "\n".join(frames)) is not None


def where_time_goes(raw: Path) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """From py-spy's collapsed stacks ("frame (path:line);... count"): the number of samples, the
    inclusive share of each of PROFILE_PARTS, and the top self-time (leaf) functions."""
    stacks: list[tuple[list[str], list[str], int]] = []
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack:
            frames = [frame.split(" (")[0] for frame in stack.split(";")]
            paths = [frame.split(" (")[-1] for frame in stack.split(";")]
            stacks.append((frames, paths, int(samples)))
    total = sum(count for _, _, count in stacks)
    if not total:
        return 0, [], []
    parts = [(label, sum(count for frames, paths, count in stacks if _matches(frames, paths, pattern)) / total)
             for label, pattern in PROFILE_PARTS]
    leaves: Counter[str] = Counter()
    for frames, paths, count in stacks:
        leaves[f"{frames[-1]} ({paths[-1].split(':')[0]})"] += count
    return total, parts, [(leaf, count / total) for leaf, count in leaves.most_common(12)]


async def measure(name: str, url: str, args: argparse.Namespace) -> list[Row]:
    gc_log = args.log_dir / f"durastack-bench-list-{name.lower()}-gc.txt"
    extra_env = {}
    if args.gc_trace:
        gc_log.unlink(missing_ok=True)
        extra_env = {"DURASTACK_BENCH_GC_LOG": str(gc_log),
                     "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "bench" / "gctrace"),
                                                                 os.environ.get("PYTHONPATH")]))}
    stack = EmbeddedStack(cpus=2, memory="2GB", database_url=url, extra_env=extra_env,
                          keep_log=args.log_dir / f"durastack-bench-list-{name.lower()}.log")
    started = time.perf_counter()
    try:
        keys = await populate(url, stack.token, args.runs)
    except BaseException:
        shutil.rmtree(stack.directory, ignore_errors=True)  # the stack was never entered
        raise
    populated = time.perf_counter() - started
    middle = keys[len(keys) // 2]
    first_body: dict[str, Any] = {"limit": 100}
    deep_body: dict[str, Any] = {"limit": 100, "prev_submitted_at": middle[0].isoformat(), "prev_run_id": middle[1]}
    with stack:
        async with client(stack) as http:
            await timed_calls(http, first_body, 10)
            await timed_calls(http, deep_body, 10)
            load_before = load()
            first_calls, first_page = await timed_calls(http, first_body, args.calls)
            deep_calls, deep_page = await timed_calls(http, deep_body, args.deep_calls)
            first, deep = [seconds for _, seconds in first_calls], [seconds for _, seconds in deep_calls]
            # The pages must be the right ones, ties on submitted_at included.
            assert [run["id"] for run in first_page] == [key[1] for key in keys[:100]], "first page is wrong"
            start = len(keys) // 2 + 1
            assert [run["id"] for run in deep_page] == [key[1] for key in keys[start:start + 100]], "deep page is wrong"
            page_bytes = len((await http.post("/api/project/main/runs/list", json=first_body)).content)
            if args.profile:
                assert stack.process is not None
                output = args.log_dir / f"durastack-bench-list-{name.lower()}-pyspy.txt"
                spy = profile(stack.process.pid, args.profile, output)
                calls = 0
                while spy.poll() is None:
                    await timed_calls(http, first_body, 1)
                    calls += 1
                total, parts, leaves = where_time_goes(output)
                print(f"\n{name}: py-spy at 200 Hz for {args.profile} s: {calls} first-page calls, {total} samples "
                      f"(raw stacks: {output})\ninclusive share of all samples:")
                for label, share in parts:
                    print(f"  {share * 100:5.1f}%  {label}")
                print("self time (leaf functions):")
                for leaf, share in leaves:
                    print(f"  {share * 100:5.1f}%  {leaf}")
            problems = stack.log_problems()
    gc = gc_rows(name, gc_log, first_calls + deep_calls) if args.gc_trace else []
    target = f"≤ {TARGET_P95_MS:.0f} ms"
    return [
        (f"{name}: {args.runs} runs written (store API)", f"{populated:.1f} s", ""),
        (f"{name}: load average before the calls", load_before, ""),
        (f"{name}: first page (limit 100), p50", f"{percentile(first, 0.5) * 1000:.1f} ms", ""),
        (f"{name}: first page (limit 100), p95", f"{percentile(first, 0.95) * 1000:.1f} ms", target),
        (f"{name}: first page, max", f"{max(first) * 1000:.1f} ms", ""),
        (f"{name}: deep page (cursor at the middle), p50", f"{percentile(deep, 0.5) * 1000:.1f} ms", ""),
        (f"{name}: deep page, p95", f"{percentile(deep, 0.95) * 1000:.1f} ms", target),
        (f"{name}: page size", f"{page_bytes / 1024:.0f} KiB", ""),
        *gc,
        *((f"{name}: {metric}", value, goal) for metric, value, goal in problem_rows(problems)),
    ]


def _admin_connect(admin_url: str) -> psycopg.Connection:
    url = make_url(admin_url)
    return psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username,
                           password=url.password, dbname=url.database or "postgres", autocommit=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--deep-calls", type=int, default=50)
    parser.add_argument("--postgres", default="postgresql://root@127.0.0.1:5432/postgres",
                        help="admin URL of a PostgreSQL server ('' to skip PostgreSQL)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--profile", type=int, default=0, help="seconds of py-spy sampling per database (0: none)")
    parser.add_argument("--gc-trace", action="store_true",
                        help="log the server's garbage collections (bench/gctrace) and relate them to slow calls")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"), help="where server logs and profiles are kept")
    args = parser.parse_args()

    rows: list[Row] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="durastack-bench-list-") as directory:
            rows += await measure("SQLite", f"sqlite+aiosqlite:///{directory}/durastack.db", args)
    if args.postgres:
        name = f"durastack_bench_{uuid.uuid4().hex[:8]}"
        with _admin_connect(args.postgres) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(args.postgres).set(drivername="postgresql+psycopg", database=name)
            rows += await measure("PostgreSQL", url.render_as_string(hide_password=False), args)
        finally:
            with _admin_connect(args.postgres) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print_table(f"runs/list with {args.runs} runs (load average at the end: {load()})", rows)
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
