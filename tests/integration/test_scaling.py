"""Scaling services through the API: replicas, their logs and cost follow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

Deploy = Callable[..., DurastackProcesses]


def service(name: str, replicas: str | int = "1..4", **extra: Any) -> dict[str, Any]:
    return {"type": "service", "name": name, "port": 8000, "replicas": replicas, "stop_duration": "5s",
            "commands": ["echo \"replica $DURASTACK_REPLICA_NUM up\"", "trap 'exit 0' TERM",
                         "while true; do sleep 0.1; done"],
            "resources": {"cpu": 0.5, "memory": "64MB"}, **extra}


def current(run: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {job["replica_num"]: job["job_submissions"][-1] for job in run["jobs"]}


def stdout(api: ApiClient, name: str, replica_num: int) -> list[str]:
    # bash reports on stderr that its `sleep` child got SIGTERM; stdout is the script's own.
    return [line["message"] for line in api.logs(name, replica_num) if line["log_source"] == "stdout"]


def stats_replicas(api: ApiClient, name: str) -> list[int]:
    response = api.http.get(f"/api/project/main/metrics/run/{name}")
    assert response.status_code == 200, response.text
    return sorted(replica["replica_num"] for replica in response.json()["replicas"])


def running(api: ApiClient, name: str, count: int) -> dict[str, Any]:
    return api.wait_for(name, lambda run: sum(s["status"] == "running" for s in current(run).values()) == count,
                        what=f"{count} replicas running")


def test_scale_a_service_up_and_down(deploy: Deploy) -> None:
    api = deploy(price=3.6).client()
    api.apply(service("web"))
    run = running(api, "web", 1)
    assert run["cost_per_hour"] == pytest.approx(3.6)

    outcome = api.ok("runs/scale", {"runs_names": ["web"], "replicas": 3})
    assert outcome["results"] == [{"run_name": "web", "id": run["id"], "outcome": "scaled"}]
    run = running(api, "web", 3)
    assert sorted(current(run)) == [0, 1, 2]
    assert run["desired_replicas"] == 3 and run["cost_per_hour"] == pytest.approx(3 * 3.6)
    for replica_num in (0, 1, 2):
        api.wait_for("web", lambda _, n=replica_num: stdout(api, "web", n) == [f"replica {n} up"],
                     what=f"replica {replica_num}'s log")
    api.wait_for("web", lambda _: stats_replicas(api, "web") == [0, 1, 2], what="stats of 3 replicas")

    api.ok("runs/scale", {"runs_names": ["web"], "replicas": 1})
    run = api.wait_for("web", lambda run: [s["status"] for s in current(run).values()].count("terminated") == 2,
                       what="two replicas terminated")
    removed = [s for num, s in current(run).items() if s["status"] == "terminated"]
    assert {s["termination_reason"] for s in removed} == {"scaled_down"}
    assert all(s["finished_at"] for s in removed)
    assert run["cost_per_hour"] == pytest.approx(3.6)
    assert run["status"] == "running" and run["desired_replicas"] == 1
    assert stats_replicas(api, "web") == [0]  # scaled-down replicas left the stats
    # Logs of replicas that ended stay readable.
    assert stdout(api, "web", 2) == ["replica 2 up"]

    # Scaling up again reuses freed replica numbers, with new submissions.
    api.ok("runs/scale", {"runs_names": ["web"], "replicas": 2})
    run = running(api, "web", 2)
    reused = {job["replica_num"]: job["job_submissions"] for job in run["jobs"]}
    assert len(reused) == 3  # no fourth replica number
    assert sum(len(subs) for subs in reused.values()) == 4  # one of the freed numbers got a new submission
    api.ok("runs/stop", {"runs_names": ["web"]})
    assert api.wait_finished("web")["status"] == "terminated"


def test_scale_down_removes_replicas_not_yet_running_first(deploy: Deploy) -> None:
    api = deploy(cpus=1, memory="1GB").client()  # room for two replicas of 0.5 CPU
    api.apply(service("tight"))
    running(api, "tight", 1)
    api.ok("runs/scale", {"runs_names": ["tight"], "replicas": 3})
    # Two running and one waiting: were the other new replica still provisioning, it would be
    # "not yet running" too, and the newer of the two would go first.
    run = api.wait_for("tight", lambda run: sorted(s["status"] for s in current(run).values())
                       == ["running", "running", "submitted"], what="two replicas running, one waiting")
    waiting = [num for num, s in current(run).items() if s["status"] == "submitted"]
    assert current(run)[waiting[0]]["status_message"].startswith("waiting for capacity")
    api.ok("runs/scale", {"runs_names": ["tight"], "replicas": 2})
    run = api.wait_for("tight", lambda run: current(run)[waiting[0]]["status"] == "terminated", what="removed")
    assert current(run)[waiting[0]]["termination_reason"] == "scaled_down"
    assert current(run)[waiting[0]]["started_at"] is None
    assert sum(s["status"] == "running" for s in current(run).values()) == 2
    api.ok("runs/stop", {"runs_names": ["tight"], "abort": True})


def test_scale_refusals_name_the_range(deploy: Deploy) -> None:
    api = deploy().client()
    api.apply(service("bounded", replicas="1..2"))
    api.apply({"type": "task", "name": "job", "commands": ["sleep 60"], "resources": {"cpu": 0.5, "memory": "64MB"}})
    response = api.post("runs/scale", {"runs_names": ["bounded"], "replicas": 5})
    assert response.status_code == 400
    assert response.json()["detail"] == "replicas: run bounded: replicas must be within 1..2 for this service, not 5"
    response = api.post("runs/scale", {"runs_names": ["job"], "replicas": 2})
    assert response.status_code == 400
    assert response.json()["detail"] == "runs_names: run job is a task; only services scale"
    outcome = api.ok("runs/scale", {"runs_names": ["ghost"], "replicas": 1})
    assert outcome["results"] == [{"run_name": "ghost", "id": None, "outcome": "not_found"}]
    api.ok("runs/stop", {"runs_names": ["bounded", "job"], "abort": True})


def test_reapplying_with_only_replicas_changed_scales_in_place(deploy: Deploy) -> None:
    api = deploy().client()
    first = api.apply(service("inplace", replicas="1..2"))
    original = running(api, "inplace", 1)
    replica_zero = current(original)[0]

    updated = api.apply(service("inplace", replicas=3))
    assert updated["id"] == first["id"]
    run = running(api, "inplace", 3)
    assert current(run)[0]["id"] == replica_zero["id"]  # the existing replica was not restarted
    assert run["configuration"]["replicas"] == "3"

    changed = api.post("runs/apply", {"run_spec": {"configuration": {**service("inplace", replicas=3),
                                                                     "max_duration": "1h"}}})
    assert changed.status_code == 409
    assert "changed in: max_duration" in changed.json()["detail"]
    api.ok("runs/stop", {"runs_names": ["inplace"], "abort": True})


def test_stop_and_delete_accept_ids(deploy: Deploy) -> None:
    api = deploy().client()
    run = api.apply(service("by-id"))
    outcome = api.ok("runs/stop", {"runs_names": [run["id"]], "abort": True})
    assert outcome["results"] == [{"run_name": "by-id", "id": run["id"], "outcome": "stopping"}]
    api.wait_finished("by-id")
    outcome = api.ok("runs/delete", {"runs_names": [run["id"]]})
    assert outcome["results"] == [{"run_name": "by-id", "id": run["id"], "outcome": "deleted"}]
