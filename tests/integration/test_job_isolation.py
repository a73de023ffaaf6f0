"""What a job can see and what outlives it, with real runner processes on this machine.

Jobs run in single-user mode (as the server's user) or, when the worker is root, as users of their
own; both modes are tested where both promise the same. A job sees only its configuration's env,
the run's variables and a few base ones; its main process decides when it has ended; a killed runner
takes its job along; an isolated job can't read the server's state, its configuration or another
job's files.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from backends.local.compute import LocalCompute
from backends.local.job_users import can_separate_users
from backends.registry import create_compute
from core.configuration import Resources
from core.jobs import JobSpec, ReplicaExit
from tests.support.cleanup import job_workspaces, kill_jobs, open_to_jobs
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

needs_root = pytest.mark.skipif(not can_separate_users(), reason="jobs get users of their own only under root")
MODES = [pytest.param(False, id="single-user"), pytest.param(True, id="isolated", marks=needs_root)]


@pytest.fixture
def workspaces(tmp_path: Path) -> Iterator[Path]:
    path = job_workspaces()
    yield path
    kill_jobs(tmp_path / "jobs")
    shutil.rmtree(path, ignore_errors=True)


def compute(tmp_path: Path, workspaces: Path, isolate: bool) -> LocalCompute:
    created = create_compute("local", {"jobs_dir": tmp_path / "jobs", "host_id": "test-host",
                                       "isolate_jobs": isolate, "workspaces_dir": workspaces})
    assert isinstance(created, LocalCompute)
    return created


def job(submission_id: str, *commands: str, **env: str) -> JobSpec:
    return JobSpec(submission_id=submission_id, run_id="run-id", run_name="name", project="main", replica_num=0,
                   submission_num=0, commands=list(commands), env=env, working_dir=None, resources=Resources())


async def wait_for(condition: Callable[[], object], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


async def wait_exit(backend: LocalCompute, submission_id: str, timeout: float = 10) -> ReplicaExit:
    deadline = time.monotonic() + timeout
    while (exited := backend.job_exit(submission_id)) is None:
        assert time.monotonic() < deadline, f"{submission_id} never exited"
        await asyncio.sleep(0.02)
    return exited


def output(backend: LocalCompute, submission_id: str) -> list[str]:
    return [line.message for line in backend.read_output(submission_id, 0, 1 << 20)[0]]


async def pid_printed(backend: LocalCompute, submission_id: str, prefix: str) -> int:
    """A pid the job printed as `prefix<pid>`."""
    found: list[int] = []

    def printed() -> bool:
        lines = output(backend, submission_id)
        found[:] = [int(line.removeprefix(prefix)) for line in lines if line.startswith(prefix)]
        return bool(found)

    await wait_for(printed, f"{submission_id} printed {prefix}")
    return found[0]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("isolate", MODES)
async def test_a_job_sees_only_its_own_environment(tmp_path: Path, workspaces: Path, isolate: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURASTACK_SERVER_ADMIN_TOKEN", "the-admin-token")
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret@db/durastack")
    backend = compute(tmp_path, workspaces, isolate)
    await backend.run_job(job("env", "env", SEED="7"))
    assert (await wait_exit(backend, "env")).exit_code == 0
    seen = dict(line.split("=", 1) for line in output(backend, "env") if "=" in line)
    assert "DURASTACK_SERVER_ADMIN_TOKEN" not in seen and "DATABASE_URL" not in seen
    assert "the-admin-token" not in "".join(output(backend, "env"))
    assert seen["SEED"] == "7" and seen["DURASTACK_RUN_ID"] == "run-id" and seen["DURASTACK_PROJECT"] == "main"
    assert seen["HOME"] == str(workspaces / "env") and seen["PATH"] == os.environ["PATH"]
    assert set(seen) <= {"SEED", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "PATH", "PYTHONUNBUFFERED", "LANG",
                         "LANGUAGE", "TZ", "TERM", "PWD", "SHLVL", "_", "OLDPWD"} | {
        key for key in seen if key.startswith(("DURASTACK_RUN", "DURASTACK_PROJECT", "DURASTACK_REPLICA",
                                               "DURASTACK_SUBMISSION", "LC_"))}


@pytest.mark.parametrize("isolate", MODES)
async def test_the_main_process_decides_when_a_job_has_ended(tmp_path: Path, workspaces: Path, isolate: bool) -> None:
    """A killed shell whose child still holds its output ends the job at once, and the rest of its
    group goes with it."""
    backend = compute(tmp_path, workspaces, isolate)
    await backend.run_job(job("main", "sleep 300 &", "echo child=$!", "sleep 0.2", "kill -9 $$"))
    started = time.monotonic()
    exited = await wait_exit(backend, "main")
    assert exited.exit_code == 137
    assert time.monotonic() - started < 5  # not the 300 s of the child
    child = await pid_printed(backend, "main", "child=")
    await wait_for(lambda: not alive(child), "the child of the main process was killed", timeout=2)


@needs_root
async def test_an_isolated_job_loses_even_the_processes_that_left_its_group(tmp_path: Path,
                                                                            workspaces: Path) -> None:
    backend = compute(tmp_path, workspaces, isolate=True)
    await backend.run_job(job("escape", "setsid sleep 300 > /dev/null 2>&1 < /dev/null &", "echo escaped=$!"))
    assert (await wait_exit(backend, "escape")).exit_code == 0
    escaped = await pid_printed(backend, "escape", "escaped=")
    await wait_for(lambda: not alive(escaped), "the process that left the job's group was killed", timeout=2)


@pytest.mark.parametrize("isolate", MODES)
async def test_a_killed_runner_takes_its_job_along(tmp_path: Path, workspaces: Path, isolate: bool) -> None:
    backend = compute(tmp_path, workspaces, isolate)
    runner = (await backend.run_job(job("orphan", "sleep 300 &", "echo child=$!", "wait"))).pid
    child = await pid_printed(backend, "orphan", "child=")
    shell = int((tmp_path / "jobs" / "orphan" / "job_pgid").read_text())
    os.kill(runner, signal.SIGKILL)
    exited = await wait_exit(backend, "orphan")
    assert exited.exit_code is None and "runner" in exited.message and "killed" in exited.message
    await wait_for(lambda: not alive(shell) and not alive(child), "nothing left to run beside a retry", timeout=2)


async def test_the_exit_time_is_the_runners_not_the_watchers(tmp_path: Path, workspaces: Path) -> None:
    backend = compute(tmp_path, workspaces, isolate=False)
    started = time.time()
    await backend.run_job(job("timed", "sleep 0.3"))
    await wait_for(lambda: (tmp_path / "jobs" / "timed" / "exit_code").exists(), "the exit was recorded")
    await asyncio.sleep(1)  # a watcher that looks late
    exited = await wait_exit(backend, "timed")
    assert exited.exited_at is not None
    assert 0.3 <= exited.exited_at.timestamp() - started < 1.2


@needs_root
async def test_an_isolated_job_cannot_read_the_server_or_another_job(tmp_path: Path, workspaces: Path) -> None:
    backend = compute(tmp_path, workspaces, isolate=True)
    await backend.run_job(job("keeper", "echo secret > $HOME/secret", "touch $HOME/ready", "sleep 300"))
    await wait_for(lambda: os.path.exists(workspaces / "keeper" / "ready"), "the first job wrote its secret")
    (tmp_path / "jobs" / "server-file").write_text("server state")
    attempts = {
        "another job's home": f"cat {workspaces}/keeper/secret",
        "the server's state": f"cat {tmp_path}/jobs/server-file",
        "another job's runner files": f"cat {tmp_path}/jobs/keeper/spec.marshal",
        "the server's environment": f"cat /proc/{os.getpid()}/environ",
        "listing the homes": f"ls {workspaces}",
        "writing the homes": f"touch {workspaces}/planted",
    }
    commands = [f'if {command} > /dev/null 2>&1; then echo "ALLOWED {what}"; else echo "denied {what}"; fi'
                for what, command in attempts.items()]
    await backend.run_job(job("intruder", "id -u", *commands))
    assert (await wait_exit(backend, "intruder")).exit_code == 0
    lines = output(backend, "intruder")
    assert [line for line in lines if line.startswith(("ALLOWED", "denied"))] == [
        f"denied {what}" for what in attempts]
    keeper_uid = os.stat(workspaces / "keeper").st_uid
    assert int(lines[0]) not in (0, keeper_uid)  # a user of its own, not root and not the other job's
    await backend.terminate_job("keeper", abort=True, grace_seconds=0, heartbeat=lambda: None, signalled=lambda: None)


# -- through the API, with the server's own processes ---------------------------------------------

PROBE = """
for what in "environment:cat /proc/$WORKER_PID/environ" "state directory:ls $SERVER_DIR" \
            "job files:ls $SERVER_DIR/jobs" "client config:cat $CONFIG"; do
  if sh -c "${what#*:}" > /dev/null 2>&1; then echo "ALLOWED ${what%%:*}"; else echo "denied ${what%%:*}"; fi
done
env | grep -c SERVER_ADMIN_TOKEN || true
"""


@pytest.mark.parametrize("isolate", MODES)
def test_a_members_job_cannot_take_the_servers_secrets(deploy: Callable[..., DurastackProcesses], tmp_path: Path,
                                                       isolate: bool) -> None:
    """The attack of issue 11: a plain member's task reads the admin token from its environment,
    the server's configuration or its state directory. In single-user mode only the environment
    is closed, and the worker says so when it starts."""
    stack = deploy(isolate_jobs=isolate)
    open_to_jobs(tmp_path)  # pytest's own directories must not be what refuses
    config = stack.home / ".durastack" / "config.yml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(f"token: {stack.token}\n")
    config.chmod(0o600)
    assert stack.worker is not None
    api = stack.client()
    run = api.apply({"type": "task", "commands": [PROBE], "env": {
        "WORKER_PID": str(stack.worker.pid), "SERVER_DIR": str(stack.directory / "server"), "CONFIG": str(config)}})
    assert api.wait_finished(run["run_name"])["status"] == "done"
    lines = [line["message"] for line in api.logs(run["run_name"], 0)]
    assert lines[-1] == "0"  # no variable carries the admin token
    probes = [line for line in lines if line.startswith(("ALLOWED", "denied"))]
    assert len(probes) == 4
    if isolate:
        assert all(line.startswith("denied") for line in probes), probes
    else:
        assert "single-user mode" in stack.read_log("worker")


def test_a_retried_replica_never_runs_beside_its_killed_predecessor(deploy: Callable[..., DurastackProcesses]) -> None:
    stack = deploy()
    api = stack.client()
    run = api.apply({"type": "task", "commands": ["echo pid=$$", "sleep 300"], "retry": True})
    name = run["run_name"]
    running = api.wait_for(name, lambda r: r["jobs"] and r["jobs"][0]["job_submissions"][-1]["status"] == "running",
                           what="replica 0 running")
    first = running["jobs"][0]["job_submissions"][0]
    job_dir = stack.directory / "server" / "jobs" / first["id"]
    shell = int((job_dir / "job_pgid").read_text())
    os.kill(int((job_dir / "pid").read_text()), signal.SIGKILL)

    retried = api.wait_for(name, lambda r: len(r["jobs"][0]["job_submissions"]) == 2
                           and r["jobs"][0]["job_submissions"][1]["status"] == "running", timeout=60,
                           what="a second submission running")
    killed = retried["jobs"][0]["job_submissions"][0]
    assert (killed["status"], killed["termination_reason"], killed["exit_code"]) == (
        "failed", "instance_unreachable", None)
    assert "runner" in killed["status_message"]
    assert not alive(shell)  # stopped before the retry started
    api.ok("runs/stop", {"runs_names": [name], "abort": True})
    api.wait_finished(name)
