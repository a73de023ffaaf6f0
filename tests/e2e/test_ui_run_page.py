"""A run's page and the submit page as a new user meets them, in windows of 1440x900 and 1280x720:
tables that fit, what failed, an address that stays on its run, the configuration as it was
written, and the plan's question in view."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, ViewportSize, expect

from tests.e2e.conftest import LIVE, confirm, screenshot, sideways_overflow, sign_in, task
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

WINDOWS: list[ViewportSize] = [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}]


def test_a_failed_task_says_what_failed_and_its_replicas_table_fits(page: Page,
                                                                    deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"fails-{uuid.uuid4().hex[:6]}"
    # Replica 0 fails; the run then stops replica 1: long statuses in both rows.
    api.apply(task(name, 'if [ "$DURASTACK_REPLICA_NUM" = 0 ]; then exit 3; fi; sleep 300', replicas=2))
    run = api.wait_finished(name)
    assert run["status"] == "failed"

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")
    replicas = page.get_by_role("table", name="Replicas")
    expect(replicas).to_contain_text("terminated (terminated_by_server)", timeout=LIVE)
    for window in WINDOWS:
        page.set_viewport_size(window)
        sizes = sideways_overflow(replicas)
        assert sizes["scrollWidth"] <= sizes["clientWidth"], (window, sizes)
        expect(page.get_by_test_id("status-message")).to_have_text("replica 0 failed: exit code 3")
        expect(page.get_by_test_id("freshness")).to_have_text("Final")
        exit_code = page.get_by_test_id("exit-code-0")
        exit_code.scroll_into_view_if_needed()
        expect(exit_code).to_have_text("3")
        expect(exit_code).to_be_in_viewport(ratio=1)
        expect(replicas.get_by_role("columnheader", name="Cost")).to_be_in_viewport(ratio=1)
        screenshot(page, f"run-failed-{window['width']}")


def test_a_run_page_stays_on_its_run_after_a_delete_and_a_replace(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"pinned-{uuid.uuid4().hex[:6]}"
    first = api.apply(task(name, "echo first-run"))
    api.wait_finished(name)

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")  # a link by name opens the latest run, then names it
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={first['id']}", timeout=LIVE)
    page.get_by_role("button", name="Delete", exact=True).click()
    confirm(page, f"Delete run {name}?", "Delete")
    expect(page.get_by_text(f"Deleted {name}", exact=True)).to_be_visible(timeout=LIVE)
    page.reload()
    expect(page.get_by_text("This run was deleted")).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("log-lines")).to_contain_text("first-run", timeout=LIVE)

    # A newer run takes the name: a reload still shows this one, and says so.
    second = api.apply(task(name, "echo second-run; sleep 300"))
    page.reload()
    expect(page.get_by_text("A newer run of this name has replaced this one")).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("log-lines")).to_contain_text("first-run", timeout=LIVE)
    assert page.url == f"{deployment.url}/projects/main/runs/{name}?id={first['id']}"
    # Opened by name, the page shows the latest run and pins it.
    page.goto(f"/projects/main/runs/{name}")
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={second['id']}", timeout=LIVE)
    expect(page.get_by_test_id("log-lines")).to_contain_text("second-run", timeout=LIVE)
    api.ok("runs/stop", {"runs_names": [second["id"]], "abort": True})


def test_a_run_that_is_not_there_says_so_once_and_leads_to_its_history(page: Page,
                                                                       deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"gone-{uuid.uuid4().hex[:6]}"
    deleted = api.apply(task(name, "echo gone"))
    api.wait_finished(name)
    api.ok("runs/delete", {"runs_names": [name]})

    gets: list[Request] = []
    page.on("request", lambda request: gets.append(request) if request.url.endswith("/runs/get") else None)
    sign_in(page, deployment.token)
    page.clock.install()  # the page's timers run when the test says, so that "no more polls" is checked, not hoped
    page.goto(f"/projects/main/runs/{name}")
    expect(page.get_by_test_id("run-not-found")).to_contain_text(f"no run named {name} that is not deleted")
    history = page.get_by_test_id("name-history")
    expect(history).to_contain_text("deleted")
    asked = len(gets)
    assert asked == 1, [request.url for request in gets]
    page.clock.run_for(10_000)  # five of the page's polling intervals
    expect(history).to_be_visible()
    assert len(gets) == asked, "the page kept asking for a run that is not there"
    screenshot(page, "run-not-found")

    history.get_by_role("link").first.click()
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={deleted['id']}")
    expect(page.get_by_text("This run was deleted")).to_be_visible(timeout=LIVE)


def test_the_configuration_tab_shows_the_yaml_as_submitted(page: Page, deployment: DurastackProcesses) -> None:
    name = f"written-{uuid.uuid4().hex[:6]}"
    text = (f"# as written\nname: {name}\ntype: task\nenv:\n  WORKERS: 4\nresources: {{cpu: 0.1, memory: 16MB}}\n"
            "commands:\n  - |\n    echo one\n    echo two\n")
    sign_in(page, deployment.token)
    page.goto("/projects/main/submit")
    page.get_by_role("textbox", name="Configuration (YAML)").fill(text)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=LIVE)
    page.get_by_role("tab", name="Configuration").click()
    shown = page.get_by_test_id("configuration-yaml")
    expect(shown).to_contain_text("# as written")
    assert shown.text_content() == text  # not folded, not re-quoted, not reordered
    expect(page.get_by_test_id("configuration-source")).to_have_text("As submitted.")
    screenshot(page, "run-configuration-as-submitted")


@pytest.mark.parametrize("window", WINDOWS, ids=lambda window: f"{window['width']}x{window['height']}")
def test_the_plans_question_is_in_view_after_submit(page: Page, deployment: DurastackProcesses,
                                                    window: ViewportSize) -> None:
    api = deployment.client()
    name = f"asked-{uuid.uuid4().hex[:6]}"
    api.apply(task(name, "echo first; sleep 300"))
    api.wait_for(name, lambda run: run["status"] == "running", what="running")

    page.set_viewport_size(window)
    sign_in(page, deployment.token)
    page.goto("/projects/main/submit")
    text = (f"type: task\nname: {name}\nresources: {{cpu: 0.1, memory: 16MB}}\nstop_duration: 1s\n"
            "commands:\n  - echo second; sleep 300\n")
    page.get_by_role("textbox", name="Configuration (YAML)").fill(text)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_test_id("plan-message")).to_contain_text("its configuration changed in: commands", timeout=LIVE)
    expect(page.get_by_test_id("plan-message")).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("button", name="Stop it and submit")).to_be_in_viewport(ratio=1)
    screenshot(page, f"submit-question-{window['width']}")
    api.ok("runs/stop", {"runs_names": [name], "abort": True})


def test_a_service_the_cli_applied_is_nothing_to_do_from_the_ui(page: Page, deployment: DurastackProcesses,
                                                               tmp_path: Path) -> None:
    api = deployment.client()
    name = f"cli-web-{uuid.uuid4().hex[:6]}"
    text = (f"type: service\nname: {name}\nport: 8000\nresources: {{cpu: 0.1, memory: 16MB}}\nstop_duration: 1s\n"
            "commands:\n  - python3 -m http.server $PORT\n")
    (tmp_path / "web.yml").write_text(text)
    applied = deployment.cli("apply", "-f", str(tmp_path / "web.yml"), "-d", "-y")
    assert applied.returncode == 0, applied.stderr
    run = api.wait_for(name, lambda current: current["running_replicas"] == 1, what="running")

    page.set_viewport_size(WINDOWS[1])
    plans: list[Request] = []
    page.on("request", lambda request: plans.append(request) if request.url.endswith("/runs/get_plan") else None)
    sign_in(page, deployment.token)
    page.goto("/projects/main/submit")
    page.get_by_role("textbox", name="Configuration (YAML)").fill(text)
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_text("Nothing to do")).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("plan-message")).to_contain_text(
        "already active in project main with this configuration")
    expect(page.get_by_test_id("plan-message")).to_be_in_viewport(ratio=1)
    expect(page.get_by_text("The run keeps the code it was submitted with")).to_be_visible()
    body = plans[-1].post_data_json
    assert body is not None and body["run_spec"]["repo_code_hash"] == run["repo_code_hash"]
    # What the page asked is what the API answers: no change, not a restart.
    assert api.ok("runs/get_plan", body)["action"] == "no_change"
    screenshot(page, "submit-nothing-to-do-cli-service")
    api.ok("runs/stop", {"runs_names": [name], "abort": True})
