"""The Submit page (YAML pasted or uploaded, errors at their line, the plan's question) and the
projects and users pages, in a real browser against a real stack."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Locator, Page, Request, expect

from tests.e2e.conftest import LIVE, screenshot, sign_in
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration


def configuration_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Configuration (YAML)")


def submit(page: Page) -> None:
    page.get_by_role("button", name="Submit", exact=True).click()


def open_submit_page(page: Page, deployment: DurastackProcesses) -> None:
    """From the runs list's button, as a person gets there; the first project is chosen."""
    page.goto("/runs")
    page.get_by_role("link", name="Submit a run").last.click()  # the first is the side navigation's
    expect(page).to_have_url(f"{deployment.url}/submit")
    expect(page.get_by_role("button", name="Project")).to_contain_text("main")


def test_submit_shows_errors_at_their_line_then_opens_the_run(page: Page, deployment: DurastackProcesses) -> None:
    name = f"sub-{uuid.uuid4().hex[:6]}"
    sign_in(page, deployment.token)
    open_submit_page(page, deployment)
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if "/runs/" in request.url else None)

    # A YAML syntax error never leaves the browser.
    configuration_box(page).fill("type: task\ncommands:\n  - echo hi\n bad: [1\n")
    submit(page)
    syntax_error = page.get_by_text("line 4: All mapping items must start at the same column")
    expect(syntax_error).to_be_visible()
    assert sent == []

    # The server's refusal names the field, shown at its line.
    configuration_box(page).fill(f"type: service\nname: {name}\nport: 8000\ncommands:\n  - sleep 300\nreplicas: abc\n")
    submit(page)
    expect(page.get_by_text("line 6, replicas: 'abc' is not a replica count or a range like 1..4")).to_be_visible(
        timeout=LIVE)
    expect(syntax_error).to_have_count(0)
    screenshot(page, "submit-error")
    configuration_box(page).fill(f"type: task\nname: {name}\ncommands: [echo hi]\nbogus: 1\n")
    submit(page)
    expect(page.get_by_text("line 4, bogus: unknown field")).to_be_visible(timeout=LIVE)

    # An uploaded file: a name nobody used is submitted without a question, and its page opens.
    text = f"type: task\nname: {name}\nresources: {{cpu: 0.1, memory: 16MB}}\nstop_duration: 1s\n" \
           "commands:\n  - echo uploaded-$DURASTACK_REPLICA_NUM; sleep 300\n"
    upload: FilePayload = {"name": "run.yml", "mimeType": "text/yaml", "buffer": text.encode()}
    page.get_by_label("Upload a configuration file").set_input_files(files=upload)
    expect(configuration_box(page)).to_have_value(text)
    expect(page.get_by_text("run.yml")).to_be_visible()
    submit(page)
    # The page asks for the plan, applies, then opens the run: the run exists once the URL changes.
    expect(page).to_have_url(re.compile(rf"{re.escape(deployment.url)}/projects/main/runs/{name}\?id=[-0-9a-f]+"),
                             timeout=LIVE)
    api = deployment.client()
    run = api.wait_for(name, lambda current: current["status"] in ("submitted", "provisioning", "running"))
    assert page.url == f"{deployment.url}/projects/main/runs/{name}?id={run['id']}"
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.get_by_test_id("log-lines")).to_contain_text("uploaded-0", timeout=LIVE)
    plans = [request.url for request in sent if request.url.endswith("/runs/get_plan")]
    applies = [request for request in sent if request.url.endswith("/runs/apply")]
    assert len(plans) == 3 and len(applies) == 1, [request.url for request in sent]
    body: dict[str, Any] | None = applies[0].post_data_json
    assert body is not None and body["run_spec"]["configuration"]["commands"] == [
        "echo uploaded-$DURASTACK_REPLICA_NUM; sleep 300"]
    api.ok("runs/stop", {"runs_names": [run["id"]], "abort": True})


def test_submit_asks_the_plans_question_for_an_active_name(page: Page, deployment: DurastackProcesses) -> None:
    name = f"again-{uuid.uuid4().hex[:6]}"
    api = deployment.client()
    text = f"type: task\nname: {name}\nresources: {{cpu: 0.1, memory: 16MB}}\nstop_duration: 1s\n" \
           "commands:\n  - echo first; sleep 300\n"
    first = api.ok("runs/apply", {"run_spec": {"configuration": {
        "type": "task", "name": name, "resources": {"cpu": 0.1, "memory": "16MB"}, "stop_duration": "1s",
        "commands": ["echo first; sleep 300"]}}})
    api.wait_for(name, lambda run: run["status"] == "running", what="running")

    sign_in(page, deployment.token)
    page.goto("/projects/main/submit")
    configuration_box(page).fill(text)
    submit(page)
    expect(page.get_by_text("Nothing to do")).to_be_visible(timeout=LIVE)
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_text("Nothing to do")).to_have_count(0)

    configuration_box(page).fill(text.replace("echo first", "echo second"))
    submit(page)
    expect(page.get_by_test_id("plan-message")).to_contain_text(
        f"Run {name} is already active in project main and its configuration changed in: commands", timeout=LIVE)
    changes = page.get_by_role("table", name="Changes")
    expect(changes).to_contain_text("echo second; sleep 300")
    screenshot(page, "submit-confirm-replace")
    assert api.get(name)["id"] == first["id"]  # nothing happens before the answer

    page.get_by_role("button", name="Stop it and submit").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=LIVE)
    second = api.get(name)
    assert second["id"] != first["id"]
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={second['id']}")
    assert api.get(run_id=first["id"])["status"] == "terminated"
    expect(page.get_by_test_id("log-lines")).to_contain_text("second", timeout=LIVE)
    api.ok("runs/stop", {"runs_names": [second["id"]], "abort": True})


def test_projects_and_users_for_an_admin_and_for_a_user(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    username = f"user{uuid.uuid4().hex[:6]}"
    created = api.http.post("/api/users/create", json={"username": username, "global_role": "user"})
    assert created.status_code == 200, created.text
    added = api.http.post("/api/projects/main/add_members",
                          json={"members": [{"username": username, "project_role": "user"}]})
    assert added.status_code == 200, added.text

    sign_in(page, deployment.token)
    page.get_by_role("link", name="Projects").click()
    expect(page).to_have_url(f"{deployment.url}/projects")
    main = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="main", exact=True))
    expect(main.get_by_test_id("members-main")).to_contain_text("admin (admin)")
    expect(main.get_by_test_id("members-main")).to_contain_text(f"{username} (user)")
    screenshot(page, "projects")

    page.get_by_role("link", name="Users").click()
    expect(page).to_have_url(f"{deployment.url}/users")
    users = page.get_by_role("table")
    expect(users.get_by_role("row").filter(has=page.get_by_role("rowheader", name="admin", exact=True))) \
        .to_contain_text("admin")
    expect(users.get_by_role("row").filter(has=page.get_by_role("rowheader", name=username, exact=True))) \
        .to_contain_text("user")
    screenshot(page, "users")

    # A user who is not a global admin: no Users entry, and the page says why.
    page.get_by_role("button", name="admin").click()
    page.get_by_role("menuitem", name="Sign out").click()
    sign_in(page, created.json()["token"]["token"], username)
    expect(page.get_by_role("link", name="Projects")).to_be_visible()
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.goto("/users")
    expect(page.get_by_text("Not allowed")).to_be_visible()
    expect(page.get_by_text("Only global admins can see the users")).to_be_visible()
    screenshot(page, "users-not-allowed")
    page.goto("/projects")
    expect(page.get_by_text("The projects you are a member of")).to_be_visible()
    expect(page.get_by_test_id("members-main")).to_contain_text(f"{username} (user)")
