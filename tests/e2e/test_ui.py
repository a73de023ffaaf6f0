"""Sign in, the runs list and a run's page, as a person uses them: runs are submitted through the
API, and everything else happens in the browser."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e.conftest import LIVE, PRICE, SMALL, TEMPORAL_UI, confirm, run_row, screenshot, sign_in, task
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

def test_sign_in_then_sign_out(page: Page, deployment: DurastackProcesses) -> None:
    page.goto("/")
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Could not sign in")).to_be_visible()
    screenshot(page, "sign-in")

    sign_in(page, deployment.token)
    expect(page).to_have_url(f"{deployment.url}/runs")
    page.reload()  # the token is kept in the browser
    expect(page.get_by_role("button", name="admin")).to_be_visible()
    page.get_by_role("button", name="admin").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_label("Token")).to_be_visible()


def test_runs_list_stops_two_runs_with_one_request(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    names = [f"list-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    for name in names:
        api.apply(task(name))
    for name in names:
        api.wait_for(name, lambda run: run["status"] == "running", what="running")

    sign_in(page, deployment.token)
    for name in names:
        expect(run_row(page, name)).to_contain_text("running", timeout=LIVE)
    row = run_row(page, names[0])
    cells = row.get_by_role("cell")
    # The name (with the run's short id) is the row's header; the cells are the checkbox, project and
    # user, status, replicas, ...
    expect(row.get_by_role("rowheader").get_by_test_id("short-id")).to_have_text(api.get(names[0])["id"][:8])
    expect(cells.nth(1)).to_have_text("mainadmin")
    expect(cells.nth(3)).to_have_text("1/1")

    stops: list[Request] = []
    page.on("request", lambda request: stops.append(request) if request.url.endswith("/runs/stop") else None)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    page.get_by_role("checkbox", name=f"Select {names[0]}").check()
    page.get_by_role("checkbox", name=f"Select {names[1]}").check()
    page.get_by_role("button", name="Stop", exact=True).click()
    confirm(page, "Stop 2 runs?", "Stop")

    # Newest first, as the list shows them.
    expect(page.get_by_text(f"Stopping {names[1]} and {names[0]}", exact=True)).to_be_visible(timeout=LIVE)
    for name in names[:2]:
        expect(run_row(page, name)).to_contain_text("terminated", timeout=LIVE)
    expect(run_row(page, names[2])).to_contain_text("running")
    assert len(stops) == 1, [request.url for request in stops]
    assert stops[0].method == "POST"
    assert stops[0].url == f"{deployment.url}/api/project/main/runs/stop"
    ids = {api.get(name)["id"] for name in names[:2]}
    body = stops[0].post_data_json
    assert body is not None and set(body["runs_names"]) == ids  # ids, not names: a name may be reused
    assert navigations == [], "the page reloaded"
    screenshot(page, "runs-list")

    # A finished run in the selection is named in the outcome, with why.
    page.get_by_role("checkbox", name=f"Select {names[0]}").check()
    page.get_by_role("checkbox", name=f"Select {names[2]}").check()
    page.get_by_role("button", name="Abort", exact=True).click()
    confirm(page, "Abort 2 runs?", "Abort")
    expect(page.get_by_text(f"Aborting {names[2]}; 1 run could not be aborted", exact=True)).to_be_visible(timeout=LIVE)
    expect(page.get_by_text(f"{names[0]}: already finished")).to_be_visible()
    expect(run_row(page, names[2])).to_contain_text("terminated", timeout=LIVE)
    assert len(stops) == 2


def test_run_details_shows_the_run_and_stops_it(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"details-{uuid.uuid4().hex[:6]}"
    run = api.apply(task(name, "echo hello-from-the-ui; sleep 300"))
    api.wait_for(name, lambda current: current["status"] == "running", what="running")

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")  # a UI address opened directly
    header = page.get_by_role("heading", name=name, exact=True)
    expect(header).to_be_visible()
    expect(page.get_by_text("running", exact=True).first).to_be_visible(timeout=LIVE)
    expect(page.get_by_test_id("log-lines")).to_contain_text("hello-from-the-ui", timeout=LIVE)
    temporal = page.get_by_role("link", name="Open in Temporal UI")
    href = temporal.get_attribute("href") or ""
    assert href.startswith(TEMPORAL_UI) and run["workflow_id"] in href, href
    replicas = page.get_by_role("table", name="Replicas")
    expect(replicas).to_contain_text("running")
    screenshot(page, "run-details")

    page.get_by_role("button", name="Stop", exact=True).click()
    confirm(page, f"Stop run {name}?", "Stop")
    expect(page.get_by_text(f"Stopping {name}", exact=True)).to_be_visible(timeout=LIVE)
    expect(page.get_by_text("terminated (stopped_by_user)").first).to_be_visible(timeout=LIVE)
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    expect(replicas).to_contain_text("terminated", timeout=LIVE)
    assert api.get(name)["status"] == "terminated"

    page.get_by_role("tab", name="Events").click()
    expect(page.get_by_role("tabpanel")).not_to_contain_text("No events")
    expect(page.get_by_role("tabpanel")).to_contain_text("stop requested")
    screenshot(page, "run-details-events")
    page.get_by_role("tab", name="Configuration").click()
    expect(page.get_by_test_id("configuration-yaml")).to_contain_text("echo hello-from-the-ui; sleep 300")
    screenshot(page, "run-details-configuration")


def test_scale_a_service_up_and_down(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"web-{uuid.uuid4().hex[:6]}"
    api.apply({"type": "service", "name": name, "port": 8000, "replicas": "1..3", "resources": SMALL,
               "stop_duration": "1s", "commands": ["echo replica-$DURASTACK_REPLICA_NUM; sleep 300"]})
    api.wait_for(name, lambda run: run["running_replicas"] == 1, what="1 running replica")

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")
    cost_rate = page.get_by_test_id("cost-rate")
    expect(cost_rate).to_have_text(f"${PRICE:.2f}/h", timeout=LIVE)
    replicas = page.get_by_role("table", name="Replicas")
    rows = replicas.get_by_role("row")

    page.get_by_role("spinbutton", name="Desired replicas").fill("3")
    page.get_by_role("button", name="Scale", exact=True).click()
    expect(page.get_by_text(f"Scaled {name} to 3 replicas", exact=True)).to_be_visible(timeout=LIVE)
    expect(rows.filter(has_text="running")).to_have_count(3, timeout=LIVE)
    expect(cost_rate).to_have_text(f"${3 * PRICE:.2f}/h", timeout=LIVE)
    page.get_by_role("button", name="Replica 0").click()
    page.get_by_role("option", name="Replica 2").click()
    expect(page.get_by_test_id("log-lines")).to_contain_text("replica-2", timeout=LIVE)
    screenshot(page, "run-details-scaled-up")

    # The host samples each replica every 5 s: a line per replica in both charts, growing live.
    page.get_by_role("tab", name="Metrics").click()
    for chart in ("cpu-chart", "memory-chart"):
        for replica in range(3):
            expect(page.get_by_test_id(chart)).to_contain_text(f"Replica {replica}", timeout=LIVE)
        expect(page.get_by_test_id(chart)).to_have_attribute("data-fewest-samples", re.compile(r"^([2-9]|\d\d+)$"),
                                                             timeout=LIVE)
    expect(page.get_by_test_id("memory-chart")).to_contain_text(" MB")  # a y axis in bytes
    screenshot(page, "run-details-metrics")

    page.get_by_role("spinbutton", name="Desired replicas").fill("1")
    page.get_by_role("button", name="Scale", exact=True).click()
    expect(rows.filter(has_text="terminated (scaled_down)")).to_have_count(2, timeout=LIVE)
    expect(rows.filter(has_text="running")).to_have_count(1)
    expect(cost_rate).to_have_text(f"${PRICE:.2f}/h", timeout=LIVE)
    screenshot(page, "run-details-scaled-down")
    api.ok("runs/stop", {"runs_names": [name], "abort": True})


def test_a_deleted_run_opens_by_id_with_its_logs(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"gone-{uuid.uuid4().hex[:6]}"
    run = api.apply(task(name, "echo a-line-that-stays"))
    api.wait_finished(name)

    sign_in(page, deployment.token)
    run_row(page, name).get_by_role("link", name=name).click()
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={run['id']}")
    page.get_by_role("button", name="Delete", exact=True).click()
    confirm(page, f"Delete run {name}?", "Delete")
    expect(page.get_by_text(f"Deleted {name}", exact=True)).to_be_visible(timeout=LIVE)
    expect(page.get_by_text("deleted", exact=True)).to_be_visible(timeout=LIVE)  # the badge
    expect(page.get_by_role("button", name="Delete", exact=True)).to_have_count(0)

    page.reload()  # by id, a deleted run still opens, logs and all
    expect(page.get_by_text("This run was deleted")).to_be_visible()
    expect(page.get_by_test_id("log-lines")).to_contain_text("a-line-that-stays", timeout=LIVE)
    screenshot(page, "run-details-deleted")

    page.goto("/runs")
    expect(run_row(page, name)).to_have_count(0)
    page.get_by_text("Show deleted").click()
    expect(run_row(page, name)).to_contain_text("deleted", timeout=LIVE)


def test_run_details_says_live_when_its_name_is_reused_and_when_it_is_deleted(
        page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"reused-{uuid.uuid4().hex[:6]}"
    first = api.apply(task(name, "echo first; sleep 300"))
    api.wait_for(name, lambda run: run["status"] == "running", what="running")

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}?id={first['id']}")
    expect(page.get_by_text("running", exact=True).first).to_be_visible(timeout=LIVE)
    newer_notice = page.get_by_text("A newer run of this name has replaced this one")
    expect(newer_notice).to_have_count(0)

    # Another client stops it and submits the name again: the open page says so, without a reload.
    api.ok("runs/stop", {"runs_names": [first["id"]], "abort": True})
    api.wait_finished(name)
    second = api.apply(task(name, "echo second; sleep 300"))
    expect(newer_notice).to_be_visible(timeout=LIVE)
    link = page.get_by_role("link", name=f"{name} (", exact=False)
    expect(link).to_have_attribute("href", f"/projects/main/runs/{name}?id={second['id']}")
    api.ok("runs/delete", {"runs_names": [first["id"]]})
    expect(page.get_by_text("This run was deleted")).to_be_visible(timeout=LIVE)
    screenshot(page, "run-details-replaced")

    link.click()
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={second['id']}")
    expect(page.get_by_test_id("log-lines")).to_contain_text("second", timeout=LIVE)
    expect(newer_notice).to_have_count(0)
    api.ok("runs/stop", {"runs_names": [second["id"]], "abort": True})
