"""Who may do what with a project's runs: every principal and every action, against a real stack.

The runs in project `lab` belong to `run_owner`, a project user. The global admin is not a member
of `lab`, so its column shows that global admins need no membership."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

PROJECT = "lab"
ACTIONS = ("list", "get", "apply", "stop", "scale", "delete", "logs")

OK, NOT_FOUND, UNAUTHORIZED = 200, 404, 401
FORBIDDEN = "error: forbidden: only the run's owner or a project admin/manager may {} it"
STOPPING, SCALED, DELETED = (OK, "stopping"), (OK, "scaled"), (OK, "deleted")
# Batch semantics: a refused run is an outcome of a request that succeeds.
NO_STOP, NO_SCALE, NO_DELETE = ((OK, FORBIDDEN.format(verb)) for verb in ("stop", "scale", "delete"))

# For stop, scale and delete a cell is (HTTP status, the run's outcome); else the HTTP status.
MATRIX: dict[str, tuple[int | tuple[int, str], ...]] = {
    #                  list       get        apply      stop          scale         delete        logs
    "global_admin":   (OK,        OK,        OK,        STOPPING,     SCALED,       DELETED,      OK),
    "project_admin":  (OK,        OK,        OK,        STOPPING,     SCALED,       DELETED,      OK),
    "manager":        (OK,        OK,        OK,        STOPPING,     SCALED,       DELETED,      OK),
    "project_user":   (OK,        OK,        OK,        NO_STOP,      NO_SCALE,     NO_DELETE,    OK),
    "run_owner":      (OK,        OK,        OK,        STOPPING,     SCALED,       DELETED,      OK),
    "outsider":       (NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND,    NOT_FOUND,    NOT_FOUND,    NOT_FOUND),
    "bad_token":      (UNAUTHORIZED,) * len(ACTIONS),
}
MEMBERS = {"manager": "manager", "project_user": "user", "run_owner": "user"}
SMALL = {"cpu": 0.1, "memory": "16MB"}



def api(deployment: DurastackProcesses, token: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{deployment.url}/api/{path}", json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def principals(deployment: DurastackProcesses, project: str, suffix: str) -> dict[str, str]:
    """A token for each principal; `project_admin` creates the project, so it is its admin."""
    tokens = {"global_admin": deployment.token, "bad_token": "not-a-token"}
    for name in ("project_admin", *MEMBERS, "outsider"):
        user = api(deployment, deployment.token, "users/create", {"username": f"{name}-{suffix}"})
        tokens[name] = user["token"]["token"]
    api(deployment, tokens["project_admin"], "projects/create", {"project_name": project})
    api(deployment, tokens["project_admin"], f"projects/{project}/add_members", {"members": [
        {"username": f"{name}-{suffix}", "project_role": role} for name, role in MEMBERS.items()]})
    return tokens


def task(name: str, command: str) -> dict[str, Any]:
    return {"type": "task", "name": name, "commands": [command], "resources": SMALL, "stop_duration": "1s"}


def service(name: str) -> dict[str, Any]:
    return {"type": "service", "name": name, "port": 8000, "replicas": "1..2", "commands": ["sleep 300"],
            "resources": SMALL, "stop_duration": "1s"}


def target(principal: str, action: str) -> str:
    return f"{action}-{principal.replace('_', '-')}"


def test_every_principal_and_action_on_a_projects_runs(deployment: DurastackProcesses) -> None:
    tokens = principals(deployment, PROJECT, "m")
    owner = ApiClient(deployment.url, tokens["run_owner"], PROJECT)
    owner.apply(task("shared", "echo hello"))
    # Stop, scale and delete act on runs, so each principal who reaches them gets its own.
    reaching = [name for name, row in MATRIX.items() if row[0] == OK]
    for name in reaching:
        owner.apply(task(target(name, "stop"), "sleep 300"))
        owner.apply(service(target(name, "scale")))
        owner.apply(task(target(name, "delete"), "true"))
    for name in reaching:
        owner.wait_finished(target(name, "delete"))

    actual: dict[str, tuple[int | tuple[int, str], ...]] = {}
    for name in MATRIX:
        client = ApiClient(deployment.url, tokens[name], PROJECT)
        mine = name if name in reaching else "run_owner"  # the others never reach a run
        requests: dict[str, tuple[str, dict[str, Any]]] = {
            "list": ("runs/list", {}),
            "get": ("runs/get", {"run_name": "shared"}),
            "apply": ("runs/apply", {"run_spec": {"configuration": task(target(name, "apply"), "true")}}),
            "stop": ("runs/stop", {"runs_names": [target(mine, "stop")], "abort": True}),
            "scale": ("runs/scale", {"runs_names": [target(mine, "scale")], "replicas": 2}),
            "delete": ("runs/delete", {"runs_names": [target(mine, "delete")]}),
            "logs": ("logs/poll", {"run_name": "shared", "replica_num": 0}),
        }
        cells: list[int | tuple[int, str]] = []
        for action in ACTIONS:
            response = client.post(*requests[action])
            if response.status_code == NOT_FOUND:  # the same answer as for a project that doesn't exist
                assert response.json()["detail"] == f"project {PROJECT} not found", (name, action)
            if action in ("stop", "scale", "delete") and response.status_code == OK:
                [result] = response.json()["results"]
                cells.append((OK, result["outcome"]))
            else:
                cells.append(response.status_code)
        actual[name] = tuple(cells)
    wrong = {(name, action): {"actual": actual[name][i], "expected": expected}
             for name, row in MATRIX.items() for i, (action, expected) in enumerate(zip(ACTIONS, row, strict=True))
             if actual[name][i] != expected}
    assert not wrong, f"cells that differ from the matrix: {wrong}"

    # A refused run was not touched; the others were.
    admin = ApiClient(deployment.url, deployment.token, PROJECT)
    untouched = {action: admin.get(target("project_user", action)) for action in ("stop", "scale", "delete")}
    assert untouched["stop"]["termination_reason"] is None
    assert untouched["stop"]["status"] in ("submitted", "provisioning", "running")
    assert untouched["scale"]["desired_replicas"] == 1
    assert untouched["delete"]["deleted"] is False
    for name in reaching:
        if name != "project_user":
            admin.wait_for(target(name, "stop"), lambda run: run["status"] in ("terminating", "terminated"),
                           what="stopping")
            assert admin.get(target(name, "scale"))["desired_replicas"] == 2
    _stop_everything(admin)


def test_a_batch_answers_each_run_in_order(deployment: DurastackProcesses) -> None:
    """One request naming the caller's run, someone else's and a missing one: three outcomes."""
    tokens = principals(deployment, "batch", "b")
    owner = ApiClient(deployment.url, tokens["run_owner"], "batch")
    member = ApiClient(deployment.url, tokens["project_user"], "batch")
    theirs = owner.apply(task("theirs", "sleep 300"))
    mine = member.apply(task("mine", "sleep 300"))
    answer = member.ok("runs/stop", {"runs_names": ["theirs", "ghost", "mine"], "abort": True})
    assert answer["results"] == [
        {"run_name": "theirs", "id": theirs["id"], "outcome": FORBIDDEN.format("stop")},
        {"run_name": "ghost", "id": None, "outcome": "not_found"},
        {"run_name": "mine", "id": mine["id"], "outcome": "stopping"},
    ]
    member.wait_finished("mine")
    assert owner.get("theirs")["termination_reason"] is None
    _stop_everything(ApiClient(deployment.url, deployment.token, "batch"))


def _stop_everything(admin: ApiClient) -> None:
    """Leaves no workflow waiting on a worker that the module's end will take away."""
    names = [run["run_name"] for run in admin.ok("runs/list", {"only_active": True})]
    if names:
        admin.ok("runs/stop", {"runs_names": names, "abort": True})
        for name in names:
            admin.wait_finished(name)


# Who may change a project's members and delete it. Each principal acts on a project of its own
# (made by `project_admin`, with the same members as `lab`): a deletion leaves nothing to act on.
PROJECT_ACTIONS = ("add_user", "make_admin", "remove_user", "delete")
FORBIDDEN_STATUS = 403
PROJECT_MATRIX: dict[str, tuple[int, ...]] = {
    #                  add_user          make_admin        remove_user       delete
    "global_admin":   (OK,               OK,               OK,               OK),
    "project_admin":  (OK,               OK,               OK,               OK),
    "manager":        (OK,               FORBIDDEN_STATUS, OK,               FORBIDDEN_STATUS),
    "project_user":   (FORBIDDEN_STATUS, FORBIDDEN_STATUS, FORBIDDEN_STATUS, FORBIDDEN_STATUS),
    "outsider":       (NOT_FOUND,        NOT_FOUND,        NOT_FOUND,        NOT_FOUND),
    "bad_token":      (UNAUTHORIZED,) * len(PROJECT_ACTIONS),
}


def test_every_principal_and_action_on_a_projects_members_and_the_project(deployment: DurastackProcesses) -> None:
    tokens = principals(deployment, "admin-lab", "p")
    for extra in ("newcomer-p", "grunt-p"):
        api(deployment, deployment.token, "users/create", {"username": extra})
    actual: dict[str, tuple[int, ...]] = {}
    for name in PROJECT_MATRIX:
        project = f"own-{name.replace('_', '-')}"
        api(deployment, tokens["project_admin"], "projects/create", {"project_name": project})
        api(deployment, tokens["project_admin"], f"projects/{project}/add_members", {"members": [
            *({"username": f"{member}-p", "project_role": role} for member, role in MEMBERS.items()),
            {"username": "grunt-p", "project_role": "user"}]})
        requests: dict[str, tuple[str, dict[str, Any]]] = {
            "add_user": (f"projects/{project}/add_members",
                         {"members": [{"username": "newcomer-p", "project_role": "user"}]}),
            "make_admin": (f"projects/{project}/add_members",
                           {"members": [{"username": "grunt-p", "project_role": "admin"}]}),
            "remove_user": (f"projects/{project}/remove_members", {"usernames": ["grunt-p"]}),
            "delete": ("projects/delete", {"projects_names": [project]}),
        }
        cells = []
        for action in PROJECT_ACTIONS:
            path, body = requests[action]
            response = httpx.post(f"{deployment.url}/api/{path}", json=body,
                                  headers={"Authorization": f"Bearer {tokens[name]}"}, timeout=30)
            if response.status_code == NOT_FOUND:
                assert response.json()["detail"] == f"project {project} not found", (name, action)
            cells.append(response.status_code)
        actual[name] = tuple(cells)
    wrong = {(name, action): {"actual": actual[name][i], "expected": expected}
             for name, row in PROJECT_MATRIX.items()
             for i, (action, expected) in enumerate(zip(PROJECT_ACTIONS, row, strict=True))
             if actual[name][i] != expected}
    assert not wrong, f"cells that differ from the matrix: {wrong}"

    # What was refused did not happen; what was allowed did.
    remaining = {project["project_name"] for project in api(deployment, deployment.token, "projects/list", {})}
    assert {"own-global-admin", "own-project-admin"}.isdisjoint(remaining)
    assert {"own-manager", "own-project-user", "own-outsider", "own-bad-token"} <= remaining
    refused_members = api(deployment, deployment.token, "projects/own-project-user/get", {})["members"]
    assert {"username": "grunt-p", "project_role": "user"} in refused_members
    assert "newcomer-p" not in {member["username"] for member in refused_members}
    managed = {member["username"]: member["project_role"]
               for member in api(deployment, deployment.token, "projects/own-manager/get", {})["members"]}
    assert managed.get("newcomer-p") == "user" and "grunt-p" not in managed
