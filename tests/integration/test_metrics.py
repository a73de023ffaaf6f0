"""Per-replica metrics through the HTTP API, sampled from real replica processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

Deploy = Callable[..., DurastackProcesses]

MB = 1 << 20
# Holds 60 MB (written, so resident) and keeps one core busy, in a child of the job's shell.
BUSY_AND_BIG = "python3 -c 'block = b\"x\" * (60 << 20)\nwhile True: pass'"  # any Python a job's user can run


def metrics(api: ApiClient, path: str, **params: Any) -> Any:
    response = api.http.get(f"/api/project/main/metrics/{path}", params=params)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def wait_for_stats(api: ApiClient, run_name: str, condition: Callable[[dict[str, Any]], bool],
                   timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = metrics(api, f"run/{run_name}")
        if condition(stats):
            return stats
        time.sleep(0.5)
    raise AssertionError(f"stats of {run_name} never matched: {stats}")


def busy(stats: dict[str, Any]) -> bool:
    return any((replica["cpu_percent"] or 0) > 20 and (replica["memory_bytes"] or 0) > 40 * MB
               for replica in stats["replicas"])


def test_stats_show_the_running_replica_and_its_series(deploy: Deploy) -> None:
    deployment = deploy()
    api = deployment.client()
    for path in ("run/burner", "job/burner"):
        response = api.http.get(f"/api/project/main/metrics/{path}")
        assert (response.status_code, response.json()["detail"]) == (404, "run burner not found in project main")
    assert api.http.get("/api/project/main/metrics/job/burner", params={"limit": 0}).status_code == 400
    assert deployment.client(token="not-a-token").http.get("/api/project/main/metrics/run/burner").status_code == 401

    run = api.apply({"type": "task", "name": "burner", "commands": [BUSY_AND_BIG], "stop_duration": "1s",
               "resources": {"cpu": 1, "memory": "256MB"}})
    api.wait_for("burner", lambda run: run["status"] == "running", what="running")

    stats = wait_for_stats(api, "burner", busy)
    (replica,) = stats["replicas"]
    assert (stats["run_name"], stats["status"]) == ("burner", "running")
    assert (replica["replica_num"], replica["submission_num"], replica["status"]) == (0, 0, "running")
    assert replica["timestamp"] is not None

    series = metrics(api, "job/burner", replica_num=0)
    cpu, memory = series["metrics"]
    assert (cpu["name"], memory["name"]) == ("cpu_usage_percent", "memory_working_set_bytes")
    assert len(cpu["timestamps"]) == len(cpu["values"]) == len(memory["values"]) >= 1
    assert cpu["timestamps"] == sorted(cpu["timestamps"]) == memory["timestamps"]
    assert memory["values"][-1] > 40 * MB and cpu["values"][-1] > 20
    assert cpu["timestamps"][-1] == replica["timestamp"]
    assert metrics(api, "job/burner", replica_num=1)["metrics"][0]["values"] == []

    # Stopped: no replica is current any more, though its series stays.
    api.ok("runs/stop", {"runs_names": ["burner"], "abort": True})
    api.wait_finished("burner")
    finished = metrics(api, "run/burner")
    assert (finished["status"], finished["replicas"]) == ("terminated", [])
    whole = metrics(api, "job/burner")["metrics"][1]
    assert whole["timestamps"][:len(memory["timestamps"])] == memory["timestamps"]
    latest = metrics(api, "job/burner", limit=1)["metrics"][1]
    assert (latest["timestamps"], latest["values"]) == (whole["timestamps"][-1:], whole["values"][-1:])

    # By id (the UI's run page), the same run; an id of another name is not found.
    assert metrics(api, "job/burner", run_id=run["id"])["metrics"][1] == whole
    other = api.http.get("/api/project/main/metrics/job/other", params={"run_id": run["id"]})
    assert (other.status_code, other.json()["detail"]) == (404, f"run {run['id']} is not a run named other")

