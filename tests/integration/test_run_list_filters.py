"""runs/list filters on the server (statuses, a piece of the name) over every page, not the page in
view; and what each caller may do with the runs it is shown (`can_manage`, `temporal_ui_url`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from core.statuses import RunStatus
from tests.support.durastack import ApiClient, DurastackProcesses
from tests.support.seed_runs import Seed, seed

pytestmark = pytest.mark.integration

TEMPORAL_UI = "http://127.0.0.1:8233"
SMALL = {"cpu": 0.1, "memory": "16MB"}


def post(deployment: DurastackProcesses, token: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{deployment.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def listed(deployment: DurastackProcesses, path: str, body: dict[str, Any], token: str | None = None) -> list[Any]:
    response = post(deployment, token or deployment.token, path, body)
    assert response.status_code == 200, response.text
    runs: list[Any] = response.json()
    return runs


def every_page(deployment: DurastackProcesses, path: str, body: dict[str, Any], limit: int) -> list[str]:
    """The ids of every run the filters match, read page by page with keyset cursors."""
    ids: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        page = listed(deployment, path, {**body, **cursor, "limit": limit})
        ids += [run["id"] for run in page]
        if len(page) < limit:
            return ids
        cursor = {"prev_submitted_at": page[-1]["submitted_at"], "prev_run_id": page[-1]["id"]}


BOTH_ENDPOINTS = ["/api/project/main/runs/list", "/api/runs/list"]


@pytest.fixture
def filtered(deploy: Callable[..., DurastackProcesses]) -> Iterator[tuple[DurastackProcesses, list[str]]]:
    """One old failed run (hp-trial-042) under 210 newer runs: 70 hp-trial runs and 140 others."""
    deployment = deploy()
    runs = [Seed("main", "admin", "hp-trial-042", RunStatus.FAILED)]
    for i in range(210):
        name = f"hp-trial-{i:03d}" if i % 3 == 0 else f"sweep-{i:03d}"
        runs.append(Seed("main", "admin", name, RunStatus.DONE if i % 2 else RunStatus.TERMINATED))
    yield deployment, asyncio.run(seed(deployment.env["DATABASE_URL"], runs))


def test_filters_reach_past_the_first_pages(filtered: tuple[DurastackProcesses, list[str]]) -> None:
    deployment, ids = filtered
    for path in BOTH_ENDPOINTS:
        # The failed run is the oldest of 211: eleven pages of 20 down, and the first the filter finds.
        failed = listed(deployment, path, {"statuses": ["failed"], "limit": 20})
        assert [(run["run_name"], run["status"]) for run in failed] == [("hp-trial-042", "failed")]
        assert listed(deployment, path, {"statuses": ["failed", "pending", "failed"]}) == failed
        assert len(listed(deployment, path, {"statuses": [], "limit": 1000})) == 211  # none chosen: any status

        # A piece of the name, in any case, over every page; keyset paging keeps the filter.
        trials = [ids[k] for k in range(210, -1, -1) if k == 0 or (k - 1) % 3 == 0]  # ids[k]: i = k - 1
        assert len(trials) == 71
        assert every_page(deployment, path, {"name_contains": "HP-Trial"}, limit=7) == trials
        assert [(run["run_name"], run["status"]) for run in listed(deployment, path, {"name_contains": "trial-04"})] \
            == [("hp-trial-048", "terminated"), ("hp-trial-045", "done"), ("hp-trial-042", "terminated"),
                ("hp-trial-042", "failed")]
        both = {"name_contains": "trial-04", "statuses": ["done", "failed"]}
        assert every_page(deployment, path, both, limit=1) == [ids[46], ids[0]]
        # Exact names stay: a name's history.
        assert [run["id"] for run in listed(deployment, path, {"run_name": "hp-trial-042"})] == [ids[43], ids[0]]
        assert listed(deployment, path, {"run_name": "hp-trial"}) == []
        # LIKE's wildcards are plain characters: no run name has them.
        for wildcard in ("%", "_", "hp%trial", "hp_trial", "\\"):
            assert listed(deployment, path, {"name_contains": wildcard}) == [], wildcard


BAD_FILTERS: list[tuple[dict[str, Any], str]] = [
    ({"statuses": ["lost"]}, "statuses.0"), ({"statuses": "failed"}, "statuses"),
    ({"name_contains": ""}, "name_contains"), ({"name_contains": "a" * 101}, "name_contains"),
]


def test_bad_filters_are_refused_naming_the_field(deploy: Callable[..., DurastackProcesses]) -> None:
    deployment = deploy()
    for path in BOTH_ENDPOINTS:
        for body, field in BAD_FILTERS:
            response = post(deployment, deployment.token, path, body)
            assert response.status_code == 400, (path, body, response.text)
            assert response.json()["field"] == field, (path, body, response.json())
            assert response.json()["detail"].startswith(f"{field}:"), (path, body, response.json())


def test_each_caller_is_told_what_it_may_do_with_each_run(deploy: Callable[..., DurastackProcesses]) -> None:
    """A plain member may manage its own runs only; a manager of another project, that project's
    runs; only a global admin gets the Temporal UI's address (it shows every project)."""
    deployment = deploy(env={"DURASTACK_TEMPORAL_UI_URL": TEMPORAL_UI})
    admin = deployment.client()
    member = admin.http.post("/api/users/create", json={"username": "member"}).json()["token"]["token"]
    admin.http.post("/api/projects/create", json={"project_name": "side"}).raise_for_status()
    for project, role in (("main", "user"), ("side", "manager")):
        admin.http.post(f"/api/projects/{project}/add_members",
                        json={"members": [{"username": "member", "project_role": role}]}).raise_for_status()
    asyncio.run(seed(deployment.env["DATABASE_URL"], [
        Seed("main", "admin", "admins", RunStatus.DONE), Seed("main", "member", "members", RunStatus.DONE),
        Seed("side", "admin", "admins-side", RunStatus.DONE)]))

    def manageable(token: str, path: str) -> dict[str, bool]:
        runs = listed(deployment, path, {}, token)
        return {run["run_name"]: run["can_manage"] for run in runs}

    assert manageable(member, "/api/runs/list") == {"admins-side": True, "members": True, "admins": False}
    assert manageable(member, "/api/project/main/runs/list") == {"members": True, "admins": False}
    assert manageable(deployment.token, "/api/runs/list") == {"admins-side": True, "members": True, "admins": True}
    assert {run["temporal_ui_url"] for run in listed(deployment, "/api/runs/list", {}, member)} == {None}
    assert all(run["temporal_ui_url"].startswith(f"{TEMPORAL_UI}/namespaces/")
               for run in listed(deployment, "/api/runs/list", {}))

    # Live runs: apply, get (from the workflow) and a plan's current run say the same.
    configuration = {"type": "task", "name": "live", "commands": ["sleep 300"], "resources": SMALL,
                     "stop_duration": "1s"}
    applied = admin.apply(configuration)
    assert applied["can_manage"] is True and applied["temporal_ui_url"].startswith(TEMPORAL_UI)
    as_member = ApiClient(deployment.url, member)
    own = as_member.apply({**configuration, "name": "live-mine"})
    assert (own["can_manage"], own["temporal_ui_url"]) == (True, None)
    admin.wait_for("live", lambda run: run["source"] == "workflow", what="read from the workflow")
    for key in ({"run_name": "live"}, {"id": applied["id"]}):
        seen = as_member.ok("runs/get", key)
        assert (seen["can_manage"], seen["temporal_ui_url"]) == (False, None), key
    plan = as_member.ok("runs/get_plan", {"run_spec": {"configuration": {**configuration, "commands": ["true"]}}})
    assert plan["current_run"]["id"] == applied["id"]
    assert (plan["current_run"]["can_manage"], plan["current_run"]["temporal_ui_url"]) == (False, None)
    assert as_member.get("live-mine")["can_manage"] is True
    assert admin.get("live-mine")["can_manage"] is True
    admin.ok("runs/stop", {"runs_names": ["live", "live-mine"], "abort": True})
