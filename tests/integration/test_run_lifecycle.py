"""Runs end to end through the HTTP API, against real Temporal, databases and processes."""

from __future__ import annotations

import json
from collections.abc import Callable

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
