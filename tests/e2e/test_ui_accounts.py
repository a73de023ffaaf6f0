"""Users, tokens and projects managed in a real browser against a real stack: what a global admin,
a project admin, a manager and a plain member see and may do, and the API's refusals as shown."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import LIVE, screenshot, sign_in
from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

SECRET = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def new_user(deployment: DurastackProcesses, name: str, global_role: str = "user") -> str:
    created = deployment.client().http.post("/api/users/create", json={"username": name, "global_role": global_role})
    assert created.status_code == 200, created.text
    return str(created.json()["token"]["token"])


def whoami(deployment: DurastackProcesses, token: str) -> httpx.Response:
    return httpx.post(f"{deployment.url}/api/users/get_my_user", headers={"Authorization": f"Bearer {token}"},
                      timeout=30)


def api_ok(deployment: DurastackProcesses, token: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{deployment.url}/api/{path}", json=body, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


def shown_secret(page: Page) -> str:
    """The secret in the new token's alert, and the copy button puts exactly it on the clipboard."""
    alert = page.get_by_test_id("new-token")
    expect(alert).to_contain_text("shown only this once")
    found = SECRET.findall(alert.inner_text())
    assert len(found) == 1, alert.inner_text()
    alert.get_by_role("button", name="Copy the token").click()
    expect(page.get_by_text("Token copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == found[0]
    return found[0]


def row(page: Page, table: Locator, header: str) -> Locator:
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=header, exact=True))


def expect_disabled_with_reason(page: Page, button: Locator, reason: str) -> None:
    """Disabled, and the reason is the button's description and its tooltip on hover."""
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description(reason)
    button.hover()
    expect(page.get_by_role("tooltip")).to_have_text(reason)


def test_a_global_admin_creates_users_and_sets_their_role(page: Page, deployment: DurastackProcesses) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=deployment.url)
    name = unique("olga")
    sign_in(page, deployment.token)
    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Create user").click()
    dialog = page.get_by_role("dialog")
    expect_disabled_with_reason(page, dialog.get_by_role("button", name="Create"), "Enter a username")
    dialog.get_by_label("Username").fill(name)
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("new-token")).to_contain_text(f"User {name} created")
    secret = shown_secret(page)
    assert whoami(deployment, secret).json()["username"] == name
    users = page.get_by_role("table")
    expect(row(page, users, name)).to_contain_text("user")
    screenshot(page, "users-created")

    # Taken names are the API's to refuse, and its words are shown.
    page.get_by_role("button", name="Create user").click()
    page.get_by_role("dialog").get_by_label("Username").fill(name)
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(page.get_by_text(f"Could not create user {name}")).to_be_visible()
    expect(page.get_by_text(f"user {name} already exists")).to_be_visible()

    expect_disabled_with_reason(page, page.get_by_role("button", name="Set global role"), "Select a user first")
    page.get_by_role("radio", name=f"Select user {name}").check()
    page.get_by_role("button", name="Set global role").click()
    dialog = page.get_by_role("dialog")
    expect_disabled_with_reason(page, dialog.get_by_role("button", name="Save"), f"{name} is already a global user")
    dialog.get_by_role("radio", name="admin", exact=True).check()
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"{name} is now a global admin")).to_be_visible()
    expect(row(page, users, name).get_by_role("cell").nth(1)).to_have_text("admin")
    assert whoami(deployment, secret).json()["global_role"] == "admin"


def test_the_profile_page_shows_the_user_and_manages_their_tokens(page: Page, deployment: DurastackProcesses) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=deployment.url)
    name = unique("pia")
    token = new_user(deployment, name)
    sign_in(page, token, name)
    page.get_by_role("button", name=name).click()
    page.get_by_role("menuitem", name="Profile").click()
    expect(page).to_have_url(f"{deployment.url}/profile")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.get_by_test_id("profile-user")).to_contain_text(re.compile(rf"Username\s*{name}\s*Global role\s*user"))
    tokens = page.get_by_role("table")
    # The token this browser signed in with was used a moment ago.
    expect(row(page, tokens, "first token")).to_contain_text(re.compile(r"just now|\d+ s ago"))

    page.get_by_role("button", name="Create token").click()
    page.get_by_role("dialog").get_by_label("Name").fill("laptop")
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("Token laptop created")
    laptop = shown_secret(page)
    expect(row(page, tokens, "laptop")).to_contain_text("never")
    assert whoami(deployment, laptop).json()["username"] == name
    page.reload()
    expect(row(page, tokens, "laptop")).to_contain_text(re.compile(r"just now|\d+ s ago"))
    expect(page.get_by_test_id("new-token")).to_have_count(0)  # the secret is gone for good
    assert laptop not in page.content()
    screenshot(page, "profile")

    page.get_by_role("button", name="Revoke token laptop").click()
    expect(page.get_by_role("dialog")).to_contain_text("Requests with this token are refused from now on")
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Revoked token laptop")).to_be_visible()
    expect(row(page, tokens, "laptop")).to_have_count(0)
    assert whoami(deployment, laptop).status_code == 401
    assert whoami(deployment, token).status_code == 200

    # Revoking the token this browser signed in with signs it out.
    page.get_by_role("button", name="Revoke token first token").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Could not sign in")).to_be_visible()
    expect(page.get_by_text("invalid or revoked token")).to_be_visible()
    expect(page.get_by_label("Token", exact=True)).to_be_empty()
    assert whoami(deployment, token).status_code == 401


def test_a_project_admin_creates_a_project_manages_members_and_deletes_it(page: Page,
                                                                          deployment: DurastackProcesses) -> None:
    owner, member = unique("quinn"), unique("rosa")
    token = new_user(deployment, owner)
    new_user(deployment, member)
    project = unique("lab-")
    sign_in(page, token, owner)
    page.goto("/projects")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("dialog").get_by_label("Name").fill(project)
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(page.get_by_text(f"Project {project} created; you are its admin")).to_be_visible()
    projects = page.get_by_role("table", name="Projects")
    expect(row(page, projects, project)).to_contain_text("admin")
    members = page.get_by_role("table", name=f"Members of {project}")

    page.get_by_role("button", name="Add member").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill(member)
    dialog.get_by_role("radio", name="manager", exact=True).check()
    dialog.get_by_role("button", name="Add").click()
    expect(page.get_by_text(f"{member} added to project {project} as manager")).to_be_visible()
    expect(row(page, members, member)).to_contain_text("manager")
    expect(page.get_by_test_id(f"members-{project}")).to_contain_text(f"{member} (manager)")

    page.get_by_role("button", name="Add member").click()
    page.get_by_role("dialog").get_by_label("Username").fill("ghost")
    page.get_by_role("dialog").get_by_role("button", name="Add").click()
    expect(page.get_by_text(f"Could not make ghost a user of project {project}")).to_be_visible()
    expect(page.get_by_text("members: user ghost not found")).to_be_visible()

    page.get_by_role("radio", name=f"Select member {member}").check()
    page.get_by_role("button", name="Change role").click()
    page.get_by_role("dialog").get_by_role("radio", name="user", exact=True).check()
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(row(page, members, member).get_by_role("cell").last).to_have_text("user")
    screenshot(page, "projects-members")
    page.get_by_role("radio", name=f"Select member {member}").check()
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text(f"{member} removed from project {project}")).to_be_visible()
    expect(row(page, members, member)).to_have_count(0)

    # An active run keeps the project: the API's refusal is shown as it is.
    runs = ApiClient(deployment.url, token, project)
    runs.apply({"type": "task", "name": "keeper", "commands": ["sleep 300"],
                "resources": {"cpu": 0.1, "memory": "16MB"}, "stop_duration": "1s"})
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("dialog")).to_contain_text(f"Delete project {project}?")
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text(f"Could not delete project {project}")).to_be_visible()
    expect(page.get_by_text(f"project {project} has active runs (keeper): stop them first")).to_be_visible()
    runs.ok("runs/stop", {"runs_names": ["keeper"], "abort": True})
    runs.wait_finished("keeper", timeout=LIVE / 1000)

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text(f"Project {project} deleted")).to_be_visible()
    expect(row(page, projects, project)).to_have_count(0)
    assert project not in {p["project_name"] for p in api_ok(deployment, deployment.token, "projects/list", {})}


def test_actions_a_caller_may_not_take_are_disabled_with_the_reason(page: Page,
                                                                    deployment: DurastackProcesses) -> None:
    admin, manager, member = unique("sam"), unique("tia"), unique("uma")
    admin_token, manager_token, member_token = (new_user(deployment, name) for name in (admin, manager, member))
    project = unique("team-")
    api_ok(deployment, admin_token, "projects/create", {"project_name": project})
    api_ok(deployment, admin_token, f"projects/{project}/add_members", {"members": [
        {"username": manager, "project_role": "manager"}, {"username": member, "project_role": "user"}]})

    sign_in(page, manager_token, manager)
    page.goto("/projects")
    page.get_by_role("radio", name=f"Select project {project}").check()
    expect_disabled_with_reason(page, page.get_by_role("button", name="Delete"),
                                f"Only admins of project {project} and global admins may delete it")
    page.get_by_role("radio", name=f"Select member {admin}").check()
    expect_disabled_with_reason(page, page.get_by_role("button", name="Remove"),
                                "Only a project admin may add, remove or change a project admin")
    page.get_by_role("radio", name=f"Select member {member}").check()
    expect_disabled_with_reason(page, page.get_by_role("button", name="Change role"),
                                "Only a project admin may make a member a manager or an admin")
    expect(page.get_by_role("button", name="Remove")).to_be_enabled()
    # A manager adds `user` members only: no other role is offered.
    page.get_by_role("button", name="Add member").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("radio")).to_have_count(1)
    expect(dialog.get_by_role("radio", name="user", exact=True)).to_be_checked()
    expect(dialog).to_contain_text("Only project admins may give other roles")
    screenshot(page, "projects-manager")
    dialog.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name=manager).click()
    page.get_by_role("menuitem", name="Sign out").click()
    sign_in(page, member_token, member)
    page.goto("/projects")
    page.get_by_role("radio", name=f"Select project {project}").check()
    reason = "Only project admins and managers may change the members of a project"
    expect_disabled_with_reason(page, page.get_by_role("button", name="Add member"), reason)
    page.get_by_role("radio", name=f"Select member {member}").check()
    expect_disabled_with_reason(page, page.get_by_role("button", name="Remove"), reason)
