"""Users, tokens and projects through the API and the CLI, against a real stack."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.accounts import hash_token
from store.database import Database
from store.models import TokenModel
from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration



def call(deployment: DurastackProcesses, token: str | None, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{deployment.url}/api/{path}", json=body, headers=headers, timeout=30)


def ok(deployment: DurastackProcesses, token: str, path: str, body: dict[str, Any]) -> Any:
    response = call(deployment, token, path, body)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def refused(deployment: DurastackProcesses, token: str | None, path: str, body: dict[str, Any]) -> tuple[int, str]:
    response = call(deployment, token, path, body)
    return response.status_code, response.json()["detail"]


def create_user(deployment: DurastackProcesses, name: str, global_role: str = "user") -> str:
    user = ok(deployment, deployment.token, "users/create", {"username": name, "global_role": global_role})
    return str(user["token"]["token"])


def test_global_admins_manage_users(deployment: DurastackProcesses) -> None:
    admin = deployment.token
    created = ok(deployment, admin, "users/create", {"username": "alice"})
    assert (created["username"], created["global_role"], created["token"]["username"]) == ("alice", "user", "alice")
    alice = created["token"]["token"]
    assert ok(deployment, alice, "users/get_my_user", {})["username"] == "alice"

    for path, body, what in [("users/list", {}, "list users"),
                             ("users/create", {"username": "mallory"}, "create users"),
                             ("users/update", {"username": "alice", "global_role": "admin"}, "set global roles")]:
        assert refused(deployment, alice, path, body) == (403, f"forbidden: only a global admin may {what}")

    bad = call(deployment, admin, "users/create", {"username": "no spaces"})
    assert (bad.status_code, bad.json()["field"]) == (400, "username")
    assert bad.json()["detail"].startswith("username: String should match pattern")
    bad = call(deployment, admin, "users/create", {"username": "bob", "global_role": "root"})
    assert (bad.status_code, bad.json()["field"]) == (400, "global_role")
    assert bad.json()["detail"] == "global_role: Input should be 'admin' or 'user'"
    assert refused(deployment, admin, "users/create", {"username": "alice"}) == (409, "user alice already exists")
    assert refused(deployment, admin, "users/update", {"username": "ghost", "global_role": "user"}) == (
        404, "user ghost not found")

    promoted = ok(deployment, admin, "users/update", {"username": "alice", "global_role": "admin"})
    assert promoted["global_role"] == "admin"
    assert {"admin", "alice"} <= {user["username"] for user in ok(deployment, alice, "users/list", {})}
    ok(deployment, alice, "users/update", {"username": "admin", "global_role": "user"})
    # The last global admin can't be demoted: nobody could make another.
    assert refused(deployment, alice, "users/update", {"username": "alice", "global_role": "user"}) == (
        409, "global_role: alice is the last global admin; make another user admin first")
    ok(deployment, alice, "users/update", {"username": "admin", "global_role": "admin"})
    ok(deployment, admin, "users/update", {"username": "alice", "global_role": "user"})
    assert refused(deployment, alice, "users/list", {})[0] == 403


def test_tokens_are_hashed_shown_once_and_revoked_at_once(deployment: DurastackProcesses) -> None:
    admin = deployment.token
    carol, dave = create_user(deployment, "carol"), create_user(deployment, "dave")

    laptop = ok(deployment, carol, "users/tokens/create", {"name": "laptop"})
    assert (laptop["username"], laptop["name"]) == ("carol", "laptop")
    assert ok(deployment, laptop["token"], "users/get_my_user", {})["username"] == "carol"
    listed = ok(deployment, carol, "users/tokens/list", {})
    assert [token["name"] for token in listed] == ["first token", "laptop"]
    assert all("token" not in token for token in listed)  # a secret is shown only when issued
    assert asyncio.run(_stored_token_hashes(deployment)) >= {hash_token(carol), hash_token(laptop["token"])}

    ok(deployment, carol, "users/tokens/revoke", {"id": laptop["id"]})
    assert refused(deployment, laptop["token"], "users/get_my_user", {}) == (401, "invalid or revoked token")
    assert [token["name"] for token in ok(deployment, carol, "users/tokens/list", {})] == ["first token"]

    # Someone else's tokens: only a global admin may touch them; to others they don't exist.
    dave_token_id = ok(deployment, dave, "users/tokens/list", {})[0]["id"]
    assert refused(deployment, carol, "users/tokens/create", {"username": "dave"}) == (
        403, "forbidden: only a global admin may issue tokens of other users")
    assert refused(deployment, carol, "users/tokens/list", {"username": "dave"}) == (
        403, "forbidden: only a global admin may list tokens of other users")
    assert refused(deployment, carol, "users/tokens/revoke", {"id": dave_token_id}) == (
        404, f"token {dave_token_id} not found")
    assert ok(deployment, dave, "users/get_my_user", {})["username"] == "dave"

    issued = ok(deployment, admin, "users/tokens/create", {"username": "dave", "name": "ci"})
    assert ok(deployment, issued["token"], "users/get_my_user", {})["username"] == "dave"
    ok(deployment, admin, "users/tokens/revoke", {"id": dave_token_id})
    assert refused(deployment, dave, "users/get_my_user", {})[0] == 401
    assert refused(deployment, admin, "users/tokens/create", {"username": "ghost"}) == (404, "user ghost not found")
    assert refused(deployment, admin, "users/tokens/revoke", {"id": "nope"}) == (404, "token nope not found")
    bad = call(deployment, admin, "users/tokens/revoke", {})
    assert (bad.status_code, bad.json()["field"]) == (400, "id")


def test_projects_and_members(deployment: DurastackProcesses) -> None:
    admin = deployment.token
    erin, frank, grace, heidi = (create_user(deployment, name) for name in ("erin", "frank", "grace", "heidi"))

    # Any user may create a project and becomes its admin.
    team = ok(deployment, erin, "projects/create", {"project_name": "team"})
    assert (team["project_role"], team["members"]) == ("admin", [{"username": "erin", "project_role": "admin"}])
    assert refused(deployment, frank, "projects/create", {"project_name": "team"}) == (
        409, "project team already exists")
    bad = call(deployment, erin, "projects/create", {"project_name": "Team!"})
    assert (bad.status_code, bad.json()["field"]) == (400, "project_name")

    add = "projects/team/add_members"
    ok(deployment, erin, add, {"members": [{"username": "frank", "project_role": "manager"},
                                           {"username": "grace", "project_role": "user"}]})
    # A manager manages `user` members only.
    assert ok(deployment, frank, add, {"members": [{"username": "heidi", "project_role": "user"}]})["members"] == [
        {"username": "erin", "project_role": "admin"}, {"username": "frank", "project_role": "manager"},
        {"username": "grace", "project_role": "user"}, {"username": "heidi", "project_role": "user"}]
    assert refused(deployment, frank, add, {"members": [{"username": "heidi", "project_role": "admin"}]}) == (
        403, "forbidden: only a project admin may add, remove or change a project admin")
    assert refused(deployment, frank, "projects/team/remove_members", {"usernames": ["erin"]}) == (
        403, "forbidden: only a project admin may add, remove or change a project admin")
    assert refused(deployment, grace, add, {"members": [{"username": "heidi", "project_role": "user"}]}) == (
        403, "forbidden: only project admins and managers may change the members of a project")
    assert refused(deployment, erin, add, {"members": [{"username": "ghost", "project_role": "user"}]}) == (
        404, "members: user ghost not found")
    bad = call(deployment, erin, add, {"members": [{"username": "heidi", "project_role": "owner"}]})
    assert bad.status_code == 400 and "project_role" in bad.json()["detail"], bad.text
    ok(deployment, frank, "projects/team/remove_members", {"usernames": ["heidi"]})

    # Outside the project it is exactly as missing as a project that doesn't exist.
    assert refused(deployment, heidi, "projects/team/get", {}) == (404, "project team not found")
    assert refused(deployment, heidi, "projects/nowhere/get", {}) == (404, "project nowhere not found")
    assert refused(deployment, heidi, add, {"members": [{"username": "heidi", "project_role": "admin"}]}) == (
        404, "project team not found")

    # Lists: a member sees their projects and role; a global admin sees every project.
    assert [(p["project_name"], p["project_role"]) for p in ok(deployment, grace, "projects/list", {})] == [
        ("team", "user")]
    assert ok(deployment, heidi, "projects/list", {}) == []
    every = {p["project_name"]: p["project_role"] for p in ok(deployment, admin, "projects/list", {})}
    assert every["main"] == "admin" and every["team"] is None
    assert ok(deployment, admin, "projects/team/get", {})["project_role"] is None
    ok(deployment, admin, add, {"members": [{"username": "heidi", "project_role": "admin"}]})
    assert ok(deployment, heidi, "projects/team/get", {})["project_role"] == "admin"


def test_listed_tokens_say_when_they_were_last_used(deployment: DurastackProcesses) -> None:
    kate = create_user(deployment, "kate")
    spare = ok(deployment, kate, "users/tokens/create", {"name": "spare"})
    assert spare["last_used_at"] is None
    before = datetime.now(UTC)
    listed = {token["name"]: token for token in ok(deployment, kate, "users/tokens/list", {})}
    # This very request used the first token; the spare one was never sent.
    assert listed["first token"]["last_used_at"] is not None
    assert datetime.fromisoformat(listed["first token"]["last_used_at"]) >= before - timedelta(seconds=1)
    assert listed["spare"]["last_used_at"] is None
    assert all("token" not in token for token in listed.values())

    ok(deployment, spare["token"], "users/get_my_user", {})
    used = {token["name"]: token for token in ok(deployment, kate, "users/tokens/list", {})}["spare"]
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(used["last_used_at"]) <= datetime.now(UTC)
    # Written to the minute: a burst of requests doesn't move it.
    ok(deployment, spare["token"], "users/get_my_user", {})
    again = {token["name"]: token for token in ok(deployment, kate, "users/tokens/list", {})}["spare"]
    assert again["last_used_at"] == used["last_used_at"]


def test_deleting_projects(deployment: DurastackProcesses) -> None:
    admin = deployment.token
    liam, mia, noah = (create_user(deployment, name) for name in ("liam", "mia", "noah"))
    ok(deployment, liam, "projects/create", {"project_name": "doomed"})
    ok(deployment, liam, "projects/create", {"project_name": "busy"})
    ok(deployment, liam, "projects/doomed/add_members", {"members": [{"username": "mia", "project_role": "manager"}]})

    delete = "projects/delete"
    assert refused(deployment, mia, delete, {"projects_names": ["doomed"]}) == (
        403, "forbidden: only a project admin may delete project doomed")
    assert refused(deployment, noah, delete, {"projects_names": ["doomed"]}) == (404, "project doomed not found")
    assert refused(deployment, liam, delete, {"projects_names": ["doomed", "ghost", "nope"]}) == (
        404, "projects ghost, nope not found")
    bad = call(deployment, liam, delete, {"projects_names": []})
    assert (bad.status_code, bad.json()["field"]) == (400, "projects_names")

    # A project with an active run is refused, and so is the whole request (all or nothing).
    runs = ApiClient(deployment.url, liam, "busy")
    runs.apply({"type": "task", "name": "sleeper", "commands": ["sleep 300"],
                "resources": {"cpu": 0.1, "memory": "16MB"}, "stop_duration": "1s"})
    assert refused(deployment, liam, delete, {"projects_names": ["doomed", "busy"]}) == (
        409, "project busy has active runs (sleeper): stop them first")
    assert {"doomed", "busy"} <= {p["project_name"] for p in ok(deployment, liam, "projects/list", {})}
    runs.ok("runs/stop", {"runs_names": ["sleeper"], "abort": True})
    runs.wait_finished("sleeper")

    deleted = ok(deployment, liam, delete, {"projects_names": ["doomed", "busy"]})
    assert [(p["project_name"], p["project_role"]) for p in deleted] == [("doomed", "admin"), ("busy", "admin")]
    for token in (liam, mia, admin):
        assert {"doomed", "busy"}.isdisjoint(p["project_name"] for p in ok(deployment, token, "projects/list", {}))
    assert refused(deployment, admin, "projects/doomed/get", {}) == (404, "project doomed not found")
    assert refused(deployment, liam, "project/busy/runs/list", {}) == (404, "project busy not found")
    assert refused(deployment, liam, delete, {"projects_names": ["doomed"]}) == (404, "project doomed not found")

    # The name is free again, for a new project that has nothing of the old one.
    reborn = ok(deployment, mia, "projects/create", {"project_name": "doomed"})
    assert reborn["members"] == [{"username": "mia", "project_role": "admin"}]
    ok(deployment, admin, "projects/create", {"project_name": "busy"})
    assert ApiClient(deployment.url, admin, "busy").ok("runs/list", {}) == []
    # A global admin deletes any project, member or not.
    assert [p["project_role"] for p in ok(deployment, admin, delete, {"projects_names": ["doomed"]})] == [None]


ENDPOINTS = [("users/list", {}), ("users/get_my_user", {}), ("users/create", {"username": "x"}),
             ("users/update", {"username": "x", "global_role": "user"}), ("users/tokens/create", {}),
             ("users/tokens/list", {}), ("users/tokens/revoke", {"id": "x"}), ("projects/list", {}),
             ("projects/create", {"project_name": "x"}), ("projects/main/get", {}),
             ("projects/main/add_members", {"members": [{"username": "x", "project_role": "user"}]}),
             ("projects/main/remove_members", {"usernames": ["x"]}),
             ("projects/delete", {"projects_names": ["x"]})]


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_valid_token(deployment: DurastackProcesses, path: str, body: dict[str, Any]) -> None:
    assert refused(deployment, None, path, body) == (401, "missing token: send 'Authorization: Bearer <token>'")
    assert refused(deployment, "wrong", path, body) == (401, "invalid or revoked token")
    # The token is checked before the body: a stranger learns nothing about the fields.
    assert refused(deployment, "wrong", path, {"junk": 1}) == (401, "invalid or revoked token")


def durastack(deployment: DurastackProcesses, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**deployment.env, "DURASTACK_TOKEN": token or deployment.token}
    return deployment.cli(*args, env=env, timeout=60)


def secret_lines(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines() if line.startswith(("token id: ", "token: ")))


def test_cli_users_tokens_and_projects(deployment: DurastackProcesses) -> None:
    whoami = durastack(deployment, "whoami")
    assert (whoami.returncode, whoami.stdout) == (0, "admin (global role: admin)\n")

    created = durastack(deployment, "user", "create", "ivan")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created user ivan (global role: user)\n")
    ivan = secret_lines(created.stdout)["token"]
    assert durastack(deployment, "user", "create", "judy").returncode == 0

    denied = durastack(deployment, "user", "list", token=ivan)
    assert (denied.returncode, denied.stderr) == (1, "error: forbidden: only a global admin may list users\n")

    assert durastack(deployment, "project", "create", "studio", token=ivan).returncode == 0
    added = durastack(deployment, "project", "add-member", "studio", "judy", "--role", "manager", token=ivan)
    assert added.returncode == 0, added.stderr
    members = durastack(deployment, "project", "members", "studio", token=ivan)
    assert [line.split() for line in members.stdout.splitlines()] == [
        ["USER", "PROJECT", "ROLE"], ["ivan", "admin"], ["judy", "manager"]]
    listed = durastack(deployment, "project", "list", token=ivan)
    assert [line.split()[:2] for line in listed.stdout.splitlines()[1:]] == [["studio", "admin"]]

    issued = durastack(deployment, "token", "create", "--name", "spare", token=ivan)
    spare = secret_lines(issued.stdout)
    assert durastack(deployment, "whoami", token=spare["token"]).stdout.startswith("ivan ")
    revoked = durastack(deployment, "token", "revoke", spare["token id"], token=ivan)
    assert (revoked.returncode, revoked.stdout) == (0, f"revoked token {spare['token id']} of ivan\n")
    gone = durastack(deployment, "whoami", token=spare["token"])
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: invalid or revoked token") and len(gone.stderr.splitlines()) == 1

    tokens = durastack(deployment, "token", "list", token=ivan)
    assert tokens.stdout.splitlines()[0].split() == ["ID", "USER", "NAME", "CREATED", "LAST", "USED"]
    unasked = durastack(deployment, "project", "delete", "studio", token=ivan)
    assert (unasked.returncode, unasked.stderr) == (
        1, "error: not asking for confirmation without a terminal; pass -y to delete without asking\n")
    deleted = durastack(deployment, "project", "delete", "studio", "-y", token=ivan)
    assert (deleted.returncode, deleted.stdout) == (0, "deleted project studio\n")
    assert durastack(deployment, "project", "list", token=ivan).stdout.splitlines()[1:] == []


async def _stored_token_hashes(deployment: DurastackProcesses) -> set[str]:
    database = Database(deployment.env["DATABASE_URL"])
    try:
        async with database.read() as session:
            return set((await session.execute(select(TokenModel.token_hash))).scalars())
    finally:
        await database.dispose()
