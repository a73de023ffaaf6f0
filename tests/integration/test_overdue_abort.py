"""An abort always ends a run, whatever state its workflow is in."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil
import pytest

from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_an_abort_ends_a_run_whose_workflow_cannot(deploy: Callable[..., DurastackProcesses]) -> None:
    """With no worker to run its workflow (here: the worker is frozen), an aborted run is ended from
    outside after DURASTACK_ABORT_DEADLINE: terminated, its capacity released, and its process
    killed by its host once the host is back."""
    stack = deploy(cpus=1, env={"DURASTACK_ABORT_DEADLINE": "3"})
    api = stack.client()
    whole_host = {"type": "task", "commands": ["sleep 300"], "resources": {"cpu": 1, "memory": "64MB"}}
    name = api.apply(whole_host)["run_name"]
    running = api.wait_for(name, lambda r: r["status"] == "running", what="running")
    job_dir = stack.directory / "server" / "jobs" / running["jobs"][0]["job_submissions"][0]["id"]
    shell = int((job_dir / "job_pgid").read_text())
    assert stack.worker is not None
    os.kill(stack.worker.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        frozen = api.get(name)
        assert frozen["source"] == "projection"  # the query had no worker to answer it: not a hang
        assert time.monotonic() - started < 5
        assert api.ok("runs/stop", {"runs_names": [name], "abort": True})["results"][0]["outcome"] == "stopping"
        ended = api.wait_for(name, lambda r: r["status"] == "terminated", timeout=30, what="terminated")
        assert ended["termination_reason"] == "aborted_by_user"
        assert "not carried out" in ended["status_message"]
        assert [s["status"] for s in ended["jobs"][0]["job_submissions"]] == ["aborted"]
        assert ended["jobs"][0]["job_submissions"][0]["finished_at"] is not None
    finally:
        os.kill(stack.worker.pid, signal.SIGCONT)
    deadline = time.monotonic() + 30
    while alive(shell):
        assert time.monotonic() < deadline, "the host never killed the job of the ended run"
        time.sleep(0.2)
    # Its CPU is free again: a run that needs the whole host starts.
    second = api.apply(whole_host)["run_name"]
    api.wait_for(second, lambda r: r["status"] == "running", timeout=30, what="the next run running")
    api.ok("runs/stop", {"runs_names": [second], "abort": True})
    api.wait_finished(second)
