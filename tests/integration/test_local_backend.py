"""The local backend with real processes: detached, started once, terminated, read exactly."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from pydantic import ValidationError

from backends.local.compute import LocalCompute
from backends.registry import backend_types, create_compute
from core.configuration import Resources
from core.jobs import JobSpec, ReplicaExit
from tests.support.cleanup import kill_jobs
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test(tmp_path: Path) -> Iterator[None]:
    yield
    kill_jobs(tmp_path / "jobs")


def job(submission_id: str, *commands: str, working_dir: str | None = None) -> JobSpec:
    return JobSpec(submission_id=submission_id, run_id="run", run_name="name", project="main", replica_num=0,
                   submission_num=0, commands=list(commands), env={"GREETING": "hello"}, working_dir=working_dir,
                   resources=Resources())


def compute(tmp_path: Path, **config: object) -> LocalCompute:
    """Single-user mode (tests/integration/test_job_isolation.py covers jobs with users of their own)."""
    created = create_compute("local", {"jobs_dir": tmp_path / "jobs", "host_id": "test-host", "isolate_jobs": False,
                                       **config})
    assert isinstance(created, LocalCompute)
    return created


async def wait_exit(backend: LocalCompute, submission_id: str, timeout: float = 10) -> ReplicaExit:
    deadline = time.monotonic() + timeout
    while (exited := backend.job_exit(submission_id)) is None:
        assert time.monotonic() < deadline, "the job did not exit"
        await asyncio.sleep(0.02)
    return exited


def test_registry_and_config(tmp_path: Path) -> None:
    assert "local" in backend_types()
    backend = compute(tmp_path, cpus=3, memory="2GB", price_per_hour=0.5)
    offer = backend.offer()
    assert (offer.host_id, offer.cpu_milli, offer.memory_mb, offer.price_per_hour) == ("test-host", 3000, 2048, 0.5)
    features = backend.features
    assert features.survives_worker_restart and features.samples_metrics and features.charges_for_time
    assert not compute(tmp_path).features.charges_for_time
    for bad in ({"cpus": 0}, {"memory": "lots"}, {"price_per_hour": -1}, {"host_id": "Not Valid"}, {"colour": 1}):
        with pytest.raises(ValidationError):
            compute(tmp_path, **bad)
    with pytest.raises(ValueError, match="unknown backend type 'cloud'"):
        create_compute("cloud", {})


async def test_a_job_runs_once_and_its_output_is_read_in_order(tmp_path: Path) -> None:
    backend = compute(tmp_path)
    spec = job("s1", "echo $GREETING", "echo to-stderr >&2", "printf 'no newline'", "exit 3")
    started = await backend.run_job(spec)
    assert started.port is None  # not a service
    assert await backend.run_job(spec) == started  # starting twice starts once
    exited = await wait_exit(backend, "s1")
    assert exited.exit_code == 3
    assert await backend.run_job(spec) == started  # and never again after it ended
    lines, offset = backend.read_output("s1", 0, 1 << 20)
    assert [(line.stream, line.message) for line in lines if line.stream == "stdout"] == [
        ("stdout", "hello"), ("stdout", "no newline")]
    assert ("stderr", "to-stderr") in [(line.stream, line.message) for line in lines]
    # Reading from an offset continues exactly there; a partial line is left for the next read.
    assert backend.read_output("s1", 0, 1) == ([], 0)
    assert backend.read_output("s1", lines[1].offset, 1 << 20)[0] == lines[1:]
    assert backend.read_output("s1", offset, 1 << 20) == ([], offset)


async def test_terminate_graceful_then_kill(tmp_path: Path) -> None:
    backend = compute(tmp_path)
    await backend.run_job(job("graceful", "trap 'echo bye; exit 0' TERM; while true; do sleep 0.05; done"))
    await asyncio.sleep(0.3)
    assert backend.process_ids("graceful")
    signals: list[str] = []
    await backend.terminate_job("graceful", abort=False, grace_seconds=5, heartbeat=lambda: None,
                                signalled=lambda: signals.append("graceful"))
    assert signals == ["graceful"]  # SIGTERM was enough: no SIGKILL
    assert (await wait_exit(backend, "graceful")).exit_code == 0
    assert backend.process_ids("graceful") == []

    await backend.run_job(job("stubborn", "trap '' TERM; sleep 30"))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await backend.terminate_job("stubborn", abort=False, grace_seconds=0.5, heartbeat=lambda: None,
                                signalled=lambda: signals.append("stubborn"))
    assert signals == ["graceful", "stubborn", "stubborn"]  # SIGTERM, then SIGKILL
    assert (await wait_exit(backend, "stubborn")).exit_code == 137
    assert time.monotonic() - started < 5


async def test_process_ids_cover_the_whole_process_tree(tmp_path: Path) -> None:
    backend = compute(tmp_path)
    await backend.run_job(job("tree", "sh -c 'sleep 30 & sleep 31; wait' & sleep 32 & wait"))
    def sleeps(pids: list[int]) -> list[str]:
        return sorted(psutil.Process(pid).name() for pid in pids)[-3:]

    # The shells start their children within a few ms (a child is named "sh" until it execs
    # sleep); 5 s at most.
    for _ in range(100):
        pids = backend.process_ids("tree")
        if len(pids) == 5 and sleeps(pids) == ["sleep", "sleep", "sleep"]:
            break
        await asyncio.sleep(0.05)
    # The job's shell, its two children (an inner shell and sleep 32), and the inner shell's two.
    assert len(pids) == 5
    assert sleeps(pids) == ["sleep", "sleep", "sleep"]
    # /proc's per-thread child lists agree with a scan of every process's parent.
    assert sorted(backend._children_of(pids[0])) == sorted(backend._children_table()[pids[0]])
    await backend.terminate_job("tree", abort=True, grace_seconds=0, heartbeat=lambda: None, signalled=lambda: None)
    await wait_exit(backend, "tree")
    assert backend.process_ids("tree") == []


async def test_working_dir(tmp_path: Path) -> None:
    backend = compute(tmp_path)
    (tmp_path / "project").mkdir()
    await backend.run_job(job("absolute", "pwd", working_dir=str(tmp_path / "project")))
    await wait_exit(backend, "absolute")
    assert backend.read_output("absolute", 0, 4096)[0][0].message == str(tmp_path / "project")
    with pytest.raises(Exception, match="does not exist"):
        await backend.run_job(job("missing", "pwd", working_dir=str(tmp_path / "nowhere")))


# Holds 60 MB (written, so resident) and keeps one core busy, in a child of the job's shell.
BUSY_AND_BIG = "python3 -c 'block = b\"x\" * (60 << 20)\nwhile True: pass'"  # any Python a job's user can run


async def test_metrics_are_sampled_from_the_job_processes(tmp_path: Path) -> None:
    backend = compute(tmp_path)
    assert backend.sample_metrics("never-started") is None
    await backend.run_job(job("busy", BUSY_AND_BIG))
    await asyncio.sleep(1.5)
    # First look: the average since each process started (psutil alone would say 0.0).
    first = backend.sample_metrics("busy")
    assert first is not None
    assert first.memory_bytes > 60 << 20
    assert first.cpu_percent > 20  # a whole core when the machine is idle; tests may share it
    await asyncio.sleep(1)
    second = backend.sample_metrics("busy")  # since the first look
    assert second is not None and second.cpu_percent > 20 and second.timestamp > first.timestamp
    assert backend._sampled["busy"]
    await backend.terminate_job("busy", abort=True, grace_seconds=0, heartbeat=lambda: None,
                                signalled=lambda: None)
    await wait_exit(backend, "busy")
    assert backend.sample_metrics("busy") is None
    assert "busy" not in backend._sampled  # forgotten once the job is gone


async def test_service_replicas_on_one_host_each_get_a_port_of_their_own(tmp_path: Path) -> None:
    """The configuration's port when free, else another free one; given as PORT, kept by a repeated start."""
    backend = compute(tmp_path, address="10.0.0.7")
    wanted = free_port()
    first, second = (job(name, "echo port=$PORT", "sleep 30").model_copy(update={"port": wanted})
                     for name in ("web-0", "web-1"))
    started = [await backend.run_job(spec) for spec in (first, second)]
    assert started[0].port == wanted and started[1].port not in (None, wanted)
    assert {s.address for s in started} == {"10.0.0.7"}
    assert await backend.run_job(second) == started[1]
    for spec, replica in zip((first, second), started, strict=True):
        lines = await output_lines(backend, spec.submission_id, 1)
        assert lines == [f"port={replica.port}"]
        await backend.terminate_job(spec.submission_id, abort=True, grace_seconds=0,
                                    heartbeat=lambda: None, signalled=lambda: None)
    # Something else listens on it: the replica gets another port.
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", wanted))
        listener.listen()
        taken = await backend.run_job(job("web-2", "true").model_copy(update={"port": wanted}))
    assert taken.port not in (None, wanted)


async def output_lines(backend: LocalCompute, submission_id: str, count: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(lines := backend.read_output(submission_id, 0, 1 << 20)[0]) < count:
        assert time.monotonic() < deadline, f"fewer than {count} lines: {lines}"
        await asyncio.sleep(0.02)
    return [line.message for line in lines]
