"""Run history: a name is reused without losing the old runs, deletion hides and removes nothing,
apply says what it will do with a taken name, and lists can span every project."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import yaml

from tests.support.cleanup import open_to_jobs
from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

SMALL = {"cpu": 0.1, "memory": "16MB"}



def task(name: str, command: str = "echo hello from $DURASTACK_RUN_ID") -> dict[str, Any]:
    return {"type": "task", "name": name, "commands": [command], "resources": SMALL, "stop_duration": "1s"}


def service(name: str, replicas: str = "1..3", command: str = "sleep 300") -> dict[str, Any]:
    return {"type": "service", "name": name, "port": 8000, "replicas": replicas, "commands": [command],
            "resources": SMALL, "stop_duration": "1s"}


def history(api: ApiClient, name: str, **extra: Any) -> list[dict[str, Any]]:
    return api.ok("runs/list", {"run_name": name, **extra})


def log_messages(api: ApiClient, run_id: str) -> list[str]:
    page = api.ok("logs/poll", {"run_id": run_id, "replica_num": 0})
    return [line["message"] for line in page["logs"]]


def test_resubmitting_a_name_three_times_keeps_three_runs(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    ids = []
    for _ in range(3):
        run = api.apply(task("again"))
        ids.append(run["id"])
        api.wait_finished("again")
    assert len(set(ids)) == 3
    runs = history(api, "again")
    assert [run["id"] for run in runs] == ids[::-1]  # newest first
    assert {run["status"] for run in runs} == {"done"}
    # Lists carry each replica's latest submission (get has them all, and the events).
    assert [[(s["status"], s["exit_code"]) for s in job["job_submissions"]] for job in runs[0]["jobs"]] == [
        [("done", 0)]]
    assert runs[0]["events"] == [] and api.get(run_id=ids[-1])["events"]
    # Every run keeps its own logs, read by id.
    for run_id in ids:
        assert log_messages(api, run_id) == [f"hello from {run_id}"]
    assert api.get("again")["id"] == ids[-1]


def test_deleted_runs_stay_readable_by_id_and_in_lists(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    first = api.apply(task("gone"))["id"]
    api.wait_finished("gone")
    second = api.apply(task("gone"))["id"]
    api.wait_finished("gone")

    outcome = api.ok("runs/delete", {"runs_names": ["gone"]})["results"]
    assert [(result["id"], result["outcome"]) for result in outcome] == [(second, "deleted")]
    # A name deletes every finished run of it: the name no longer resolves.
    response = api.post("runs/get", {"run_name": "gone"})
    assert response.status_code == 404 and "gone" in response.json()["detail"]
    for run_id in (first, second):
        run = api.get(run_id=run_id)
        assert run["deleted"] is True and run["status"] == "done"
        assert log_messages(api, run_id) == [f"hello from {run_id}"]
    assert [(run["id"], run["deleted"]) for run in history(api, "gone")] == [(second, True), (first, True)]
    assert history(api, "gone", include_deleted=False) == []
    # Deleting again finds nothing to delete; the runs stay.
    assert api.ok("runs/delete", {"runs_names": ["gone"]})["results"][0]["outcome"] == "not_found"
    assert len(history(api, "gone")) == 2


def test_delete_by_id_marks_only_that_run(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    older = api.apply(task("pick"))["id"]
    api.wait_finished("pick")
    newer = api.apply(task("pick"))["id"]
    api.wait_finished("pick")
    assert api.ok("runs/delete", {"runs_names": [newer]})["results"][0]["outcome"] == "deleted"
    # The name now resolves to the latest run that is not deleted.
    assert api.get("pick")["id"] == older
    assert {run["id"]: run["deleted"] for run in history(api, "pick")} == {newer: True, older: False}


def test_delete_refuses_active_runs_naming_them(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    run = api.apply(task("busy", "sleep 300"))
    results = api.ok("runs/delete", {"runs_names": ["busy", run["id"]]})["results"]
    assert [result["outcome"] for result in results] == ["error: run busy is active; stop it first"] * 2
    assert api.get("busy")["deleted"] is False
    api.ok("runs/stop", {"runs_names": ["busy"], "abort": True})
    api.wait_finished("busy")


def test_concurrent_applies_of_a_new_name_create_one_run(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    configuration = task("race", "sleep 300")

    def apply(_: int) -> httpx.Response:
        return api.post("runs/apply", {"run_spec": {"configuration": configuration}})

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(apply, range(4)))
    assert sorted(response.status_code for response in responses) == [200, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert "run race is already active in project main" in response.json()["detail"]
    assert len(history(api, "race", only_active=True)) == 1
    api.ok("runs/stop", {"runs_names": ["race"], "abort": True})
    api.wait_finished("race")


def test_plan_says_what_apply_would_do(deployment: DurastackProcesses) -> None:
    api = deployment.client()

    def plan(configuration: dict[str, Any]) -> dict[str, Any]:
        return api.ok("runs/get_plan", {"run_spec": {"configuration": configuration}})

    fresh = plan(service("planned"))
    assert (fresh["action"], fresh["finished_runs"], fresh["message"]) == ("create", 0, "Submit the run planned?")
    api.apply(service("planned"))
    assert plan(service("planned"))["action"] == "no_change"

    scaled = plan(service("planned", replicas="2..3"))
    assert scaled["action"] == "update"
    assert scaled["changes"] == [{"field": "replicas", "old": "1..3", "new": "2..3"}]
    assert "replicas (1..3 → 2..3)" in scaled["message"] and "in place" in scaled["message"]

    rolled = plan(service("planned", command="sleep 301"))
    assert rolled["action"] == "rolling_update"
    assert [change["field"] for change in rolled["changes"]] == ["commands"]
    assert "Roll out the new configuration" in rolled["message"]

    changed = plan({**service("planned"), "max_duration": "1h"})
    assert changed["action"] == "replace"
    assert [change["field"] for change in changed["changes"]] == ["max_duration"]
    assert changed["current_run"]["run_name"] == "planned"
    assert "Stop it gracefully" in changed["message"]
    # apply itself refuses the change, naming the field, and leaves the run alone.
    refused = api.post("runs/apply", {"run_spec": {"configuration": {**service("planned"), "max_duration": "1h"}}})
    assert refused.status_code == 409 and "max_duration" in refused.json()["detail"]

    api.ok("runs/stop", {"runs_names": ["planned"], "abort": True})
    api.wait_finished("planned")
    reused = plan(service("planned"))
    assert (reused["action"], reused["finished_runs"]) == ("create", 1)
    assert reused["message"] == "Submit the run planned?"
    for answer in (fresh, scaled, rolled, changed, reused):
        assert "override" not in answer["message"].lower()


def test_global_list_spans_the_callers_projects(deployment: DurastackProcesses) -> None:
    admin = deployment.client()

    def call(token: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{deployment.url}/api/{path}", json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)

    alice = call(deployment.token, "users/create", {"username": "alice"}).json()["token"]["token"]
    assert call(alice, "projects/create", {"project_name": "alices"}).status_code == 200
    mine = ApiClient(deployment.url, alice, project="alices").apply(task("in-alices"))
    admin.apply(task("in-main"))

    def names(token: str, body: dict[str, Any]) -> set[str]:
        response = call(token, "runs/list", body)
        assert response.status_code == 200, response.text
        return {f"{run['project_name']}/{run['run_name']}" for run in response.json()}

    everything = names(deployment.token, {"limit": 1000})
    assert {"alices/in-alices", "main/in-main"} <= everything
    assert names(alice, {}) == {"alices/in-alices"}  # alice is not a member of main
    assert names(deployment.token, {"project_name": "alices"}) == {"alices/in-alices"}
    assert names(deployment.token, {"username": "alice"}) == {"alices/in-alices"}
    assert names(deployment.token, {"username": "nobody"}) == set()
    assert call(alice, "runs/list", {"project_name": "main"}).status_code == 404
    assert call("bad-token", "runs/list", {}).status_code == 401
    assert mine["user"] == "alice"


def test_cli_history_deleted_marks_and_same_name_questions(deployment: DurastackProcesses, tmp_path: Any) -> None:
    api = deployment.client()
    file = open_to_jobs(tmp_path) / "svc.yml"  # the job runs in the file's directory

    def write(configuration: dict[str, Any]) -> None:
        file.write_text(yaml.safe_dump(configuration))

    write(service("cli-svc"))
    first = deployment.cli("apply", "-f", str(file), "-d")
    assert first.returncode == 0, first.stderr
    api.wait_for("cli-svc", lambda run: run["running_replicas"] == 1, what="running")
    first_id = api.get("cli-svc")["id"]

    # An active run with another max_duration (no rolling update can change it): without a terminal
    # and -y, apply refuses and says why.
    write({**service("cli-svc"), "max_duration": "1h"})
    refused = deployment.cli("apply", "-f", str(file), "-d")
    assert refused.returncode == 1
    assert "changed in: max_duration" in refused.stderr and "pass -y" in refused.stderr
    assert api.get("cli-svc")["id"] == first_id

    # -y stops it gracefully, waits, and submits the new configuration as a new run.
    replaced = deployment.cli("apply", "-f", str(file), "-d", "-y")
    assert replaced.returncode == 0, replaced.stderr
    runs = history(api, "cli-svc")
    assert [run["id"] for run in runs][1:] == [first_id]
    assert runs[1]["status"] == "terminated" and runs[0]["status"] not in ("terminated", "failed")

    api.ok("runs/stop", {"runs_names": ["cli-svc"], "abort": True})
    api.wait_finished("cli-svc")
    listed = deployment.cli("ps", "cli-svc", "--history")
    assert listed.returncode == 0, listed.stderr
    assert all(run["id"] in listed.stdout for run in runs)

    assert deployment.cli("delete", "cli-svc", "-y").returncode == 0
    everything = deployment.cli("ps", "-a")
    assert "cli-svc (deleted)" in everything.stdout
    assert "cli-svc" not in deployment.cli("ps").stdout
    assert deployment.cli("logs", "--id", first_id).returncode == 0
    assert deployment.cli("ps", "--history").returncode == 2


def test_keyset_pages_never_skip_or_repeat(deployment: DurastackProcesses) -> None:
    """Through the API's cursor (test_store has the property test with shared timestamps)."""
    api = deployment.client()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: api.apply(task(f"page-{i}", "true")), range(24)))
    everything = [run["id"] for run in api.ok("runs/list", {"limit": 1000})]
    for size in (1, 5, 7):
        seen: list[str] = []
        body: dict[str, Any] = {"limit": size}
        while True:
            page = api.ok("runs/list", body)
            seen += [run["id"] for run in page]
            if len(page) < size:
                break
            body = {"limit": size, "prev_submitted_at": page[-1]["submitted_at"], "prev_run_id": page[-1]["id"]}
        assert seen == everything
