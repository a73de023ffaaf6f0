"""Runs end to end through the HTTP API, against real Temporal, databases and processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

Deploy = Callable[..., DurastackProcesses]

NUMBERED_LINES = "for i in $(seq 1 {n}); do echo \"replica $DURASTACK_REPLICA_NUM line $i\"; sleep {pause}; done"


def numbered_task(name: str, n: int = 20, pause: float = 0.01, **extra: object) -> dict[str, object]:
    return {"type": "task", "name": name, "commands": [NUMBERED_LINES.format(n=n, pause=pause)],
            "resources": {"cpu": 0.5, "memory": "64MB"}, **extra}


def follow(deployment: DurastackProcesses, run_name: str, replica_num: int) -> list[str]:
    lines: list[str] = []
    with httpx.stream("GET", f"{deployment.url}/api/project/main/logs/follow",
                      params={"run_name": run_name, "replica_num": replica_num},
                      headers={"Authorization": f"Bearer {deployment.token}"}, timeout=60) as response:
        assert response.status_code == 200
        event = ""
        for raw in response.iter_lines():
            if raw.startswith("event: "):
                event = raw.removeprefix("event: ")
            elif raw.startswith("data: ") and event == "log":
                lines.append(json.loads(raw.removeprefix("data: "))["message"])
            elif raw.startswith("data: ") and event == "end":
                return lines
    raise AssertionError("the follow ended without an end event")


def test_two_replica_task_is_done_with_every_line_per_replica(deploy: Deploy) -> None:
    deployment = deploy()
    api = deployment.client()
    submitted = api.apply(numbered_task("numbers", replicas=2))
    assert submitted["status"] == "submitted"

    # Follow while the run is live: the stream ends by itself when the run finishes.
    followed = follow(deployment, "numbers", 1)
    run = api.wait_finished("numbers")

    assert run["status"] == "done"
    assert run["termination_reason"] == "all_jobs_done"
    assert [job["replica_num"] for job in run["jobs"]] == [0, 1]
    for job in run["jobs"]:
        (submission,) = job["job_submissions"]
        assert (submission["status"], submission["exit_code"]) == ("done", 0)
        expected = [f"replica {job['replica_num']} line {i}" for i in range(1, 21)]
        assert [line["message"] for line in api.logs("numbers", job["replica_num"])] == expected
    assert followed == [f"replica 1 line {i}" for i in range(1, 21)]
    # The finished run reads the same from the projection as it last did from the workflow.
    assert run["source"] == "projection"
    listed = api.ok("runs/list", {})
    assert [(r["run_name"], r["status"], r["version"]) for r in listed] == [("numbers", "done", run["version"])]


def submissions(run: dict[str, Any], replica_num: int = 0) -> list[dict[str, Any]]:
    jobs = {job["replica_num"]: job for job in run["jobs"]}
    return jobs[replica_num]["job_submissions"]


def test_failing_task_without_retry_fails_with_job_failed(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "broken", "commands": ["echo about to fail", "exit 3"],
               "resources": {"cpu": 0.5, "memory": "64MB"}})
    run = api.wait_finished("broken")
    assert (run["status"], run["termination_reason"]) == ("failed", "job_failed")
    (submission,) = submissions(run)
    assert (submission["status"], submission["termination_reason"], submission["exit_code"]) == (
        "failed", "container_exited_with_error", 3)
    assert [line["message"] for line in api.logs("broken", 0)] == ["about to fail"]


def test_failing_task_with_retry_fails_after_its_retries(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "flaky", "commands": ["echo attempt $DURASTACK_SUBMISSION_NUM", "exit 1"],
               "retry": {"on_events": ["error"], "duration": "3s"}, "resources": {"cpu": 0.5, "memory": "64MB"}})
    run = api.wait_finished("flaky", timeout=60)
    assert (run["status"], run["termination_reason"]) == ("failed", "retry_limit_exceeded")
    attempts = submissions(run)
    # Backoff 1 s, then 2 s: three attempts fit in 3 s, each a new submission of replica 0.
    assert [s["submission_num"] for s in attempts] == list(range(len(attempts)))
    assert len(attempts) >= 3
    assert {s["status"] for s in attempts} == {"failed"}
    messages = [line["message"] for line in api.logs("flaky", 0)]
    assert messages == [f"attempt {i}" for i in range(len(attempts))]


SIGTERM_AWARE = ("trap 'echo got SIGTERM; exit 0' TERM; echo started; "
                 "for i in $(seq 1 600); do sleep 0.1; done")


def test_graceful_stop_sends_sigterm_and_the_run_ends_terminated(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "graceful", "commands": [SIGTERM_AWARE], "stop_duration": "20s",
               "resources": {"cpu": 0.5, "memory": "64MB"}})
    api.wait_for("graceful", lambda run: any(line["message"] == "started" for line in api.logs("graceful", 0)),
                  what="the replica printed 'started'")
    outcome = api.ok("runs/stop", {"runs_names": ["graceful"], "abort": False})
    assert outcome["results"][0]["outcome"] == "stopping"
    run = api.wait_finished("graceful")
    assert (run["status"], run["termination_reason"]) == ("terminated", "stopped_by_user")
    (submission,) = submissions(run)
    assert (submission["status"], submission["termination_reason"]) == ("terminated", "terminated_by_user")
    # bash also reports on stderr that its `sleep` child got the signal; stdout is the script's own.
    stdout = [line["message"] for line in api.logs("graceful", 0) if line["log_source"] == "stdout"]
    assert stdout == ["started", "got SIGTERM"]


def test_graceful_stop_kills_after_stop_duration(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "stubborn", "stop_duration": "1s",
               "commands": ["trap '' TERM; echo started; sleep 60"],
               "resources": {"cpu": 0.5, "memory": "64MB"}})
    api.wait_for("stubborn", lambda run: any(line["message"] == "started" for line in api.logs("stubborn", 0)),
                  what="started")
    api.ok("runs/stop", {"runs_names": ["stubborn"]})
    run = api.wait_finished("stubborn", timeout=30)
    (submission,) = submissions(run)
    assert submission["status"] == "terminated"
    assert submission["exit_code"] == 137  # SIGKILL after stop_duration


def test_abort_kills_at_once(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "doomed", "stop_duration": "60s", "commands": [SIGTERM_AWARE],
               "resources": {"cpu": 0.5, "memory": "64MB"}})
    api.wait_for("doomed", lambda run: run["status"] == "running", what="running")
    api.ok("runs/stop", {"runs_names": ["doomed"], "abort": True})
    run = api.wait_finished("doomed", timeout=20)
    assert (run["status"], run["termination_reason"]) == ("terminated", "aborted_by_user")
    (submission,) = submissions(run)
    assert (submission["status"], submission["termination_reason"], submission["exit_code"]) == (
        "aborted", "aborted_by_user", 137)
    assert "got SIGTERM" not in [line["message"] for line in api.logs("doomed", 0)]


def test_stop_of_a_finished_or_unknown_run_says_so(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "quick", "commands": ["true"], "resources": {"cpu": 0.5, "memory": "64MB"}})
    api.wait_finished("quick")
    outcome = api.ok("runs/stop", {"runs_names": ["quick", "ghost", "quick"]})
    assert [(r["run_name"], r["outcome"]) for r in outcome["results"]] == [
        ("quick", "already_finished"), ("ghost", "not_found")]


def test_max_duration_terminates_the_run(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply({"type": "task", "name": "endless", "max_duration": "2s", "stop_duration": "5s",
               "commands": [SIGTERM_AWARE], "resources": {"cpu": 0.5, "memory": "64MB"}})
    run = api.wait_finished("endless", timeout=30)
    assert (run["status"], run["termination_reason"]) == ("terminated", "max_duration_exceeded")
    (submission,) = submissions(run)
    assert submission["termination_reason"] == "max_duration_exceeded"


def test_runs_that_cannot_both_fit_run_one_after_the_other(deploy: Deploy) -> None:
    api = deploy(cpus=1, memory="1GB").client()
    task = {"type": "task", "commands": ["sleep 1.5"], "resources": {"cpu": 1, "memory": "256MB"}}
    api.apply({**task, "name": "first"})
    api.wait_for("first", lambda run: run["status"] == "running", what="running")
    api.apply({**task, "name": "second"})
    waiting = api.wait_for("second", lambda run: run["status"] == "pending", what="pending")
    assert "waiting for capacity" in waiting["status_message"]
    assert submissions(waiting)[0]["status"] == "submitted"

    first, second = api.wait_finished("first"), api.wait_finished("second")
    assert first["status"] == second["status"] == "done"
    assert submissions(second)[0]["started_at"] >= submissions(first)[0]["finished_at"]


def test_a_stopped_run_frees_its_capacity_for_a_waiting_run(deploy: Deploy) -> None:
    """A stopped run's instance is released, and the run waiting for it starts on it."""
    api = deploy(cpus=1, memory="1GB").client()
    task = {"type": "task", "commands": ["sleep 600"], "resources": {"cpu": 1, "memory": "256MB"}}
    api.apply({**task, "name": "holder"})
    api.wait_for("holder", lambda run: run["status"] == "running", what="running")
    api.apply({**task, "name": "waiter"})
    api.wait_for("waiter", lambda run: "waiting for capacity" in run["status_message"], what="waiting for capacity")

    api.ok("runs/stop", {"runs_names": ["holder"]})
    holder = api.wait_finished("holder")
    assert (holder["status"], holder["termination_reason"]) == ("terminated", "stopped_by_user")
    waiter = api.wait_for("waiter", lambda run: run["status"] == "running", what="running on the freed capacity")
    assert submissions(waiter)[0]["started_at"] >= submissions(holder)[0]["finished_at"]
    api.ok("runs/stop", {"runs_names": ["waiter"]})
    api.wait_finished("waiter")


def test_a_run_that_can_never_fit_fails_with_no_capacity(deploy: Deploy) -> None:
    api = deploy(cpus=1, memory="1GB").client()
    api.apply({"type": "task", "name": "huge", "commands": ["true"], "resources": {"cpu": 4, "memory": "256MB"}})
    run = api.wait_finished("huge")
    assert (run["status"], run["termination_reason"]) == ("failed", "job_failed")
    (submission,) = submissions(run)
    assert submission["termination_reason"] == "failed_to_start_due_to_no_capacity"
    assert "no host can ever fit 4 CPU" in submission["status_message"]


def test_worker_killed_mid_run_the_run_completes_with_exact_logs(deploy: Deploy) -> None:
    deployment = deploy()
    api = deployment.client()
    api.apply(numbered_task("survivor", n=60, pause=0.1, replicas=2))
    api.wait_for("survivor", lambda run: len(api.logs("survivor", 1)) >= 10, what="10 lines shipped")

    deployment.kill_worker()
    # The replicas are detached: they keep running while no worker exists.
    deployment.start_worker()

    run = api.wait_finished("survivor", timeout=120)
    assert run["status"] == "done"
    for replica_num in (0, 1):
        (submission,) = submissions(run, replica_num)  # no replica was started twice
        assert submission["exit_code"] == 0
        # Its end is when it exited (about 6 s in), not when a watcher resumed, a heartbeat timeout
        # (60 s) after the kill: cost stops there.
        lived = datetime.fromisoformat(submission["finished_at"]) - datetime.fromisoformat(submission["started_at"])
        assert lived.total_seconds() < 30
        messages = [line["message"] for line in api.logs("survivor", replica_num)]
        assert messages == [f"replica {replica_num} line {i}" for i in range(1, 61)]
    # Each replica's runner started exactly once: one pid file, written once.
    jobs_dir = deployment.directory / "server" / "jobs"
    assert len(list(jobs_dir.iterdir())) == 2
