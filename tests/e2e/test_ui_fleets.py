"""The Fleets page in a real browser against a real stack: the deployment's host idle, then busy
with the run on it linked; deleting an SSH fleet, as an admin and as a project member."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, Route, ViewportSize, expect

from tests.e2e.conftest import LIVE, PRICE, SMALL, screenshot, sign_in
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def test_the_host_is_idle_then_busy_with_the_run_linked(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    host_id = deployment.env["DURASTACK_HOST_ID"]
    page.set_viewport_size(VIEWPORT)
    sign_in(page, deployment.token)
    page.get_by_role("link", name="Fleets", exact=True).click()
    expect(page).to_have_url(f"{deployment.url}/fleets")

    host = page.get_by_role("row").filter(has_text=host_id)
    expect(host).to_contain_text("idle", timeout=LIVE)
    expect(host).to_contain_text("16 CPU, 16GB")  # the deployment's host (DurastackProcesses' defaults)
    expect(host).to_contain_text(f"${PRICE:.2f}/h")
    expect(host).to_contain_text(re.compile(r"just now|\d+ s ago"))
    fleet = page.get_by_role("row").filter(has_text="workers shared by every project")
    expect(fleet).to_contain_text("local")
    expect(fleet.get_by_role("button", name="Delete fleet local")).to_have_count(0)  # not an SSH fleet
    screenshot(page, "fleets-idle")

    name = f"fleet-{uuid.uuid4().hex[:6]}"
    run = api.apply({"type": "task", "name": name, "commands": ["sleep 300"], "resources": SMALL,
                     "stop_duration": "1s"})
    api.wait_for(name, lambda current: current["status"] == "running", what="running")
    expect(host).to_contain_text("busy", timeout=LIVE)
    link = host.get_by_role("link", name=f"{name} (replica 0)")
    expect(link).to_have_attribute("href", f"/projects/main/runs/{name}?id={run['id']}")
    expect(host).to_contain_text("free: 15.9 CPU, 16GB")  # free: the run holds 0.1 CPU and 16MB
    screenshot(page, "fleets-busy")

    # The run's replicas say which host, by its unique id too.
    link.click()
    expect(page).to_have_url(f"{deployment.url}/projects/main/runs/{name}?id={run['id']}")
    expect(page.get_by_role("table", name="Replicas")).to_contain_text(host_id, timeout=LIVE)
    screenshot(page, "fleets-run-replica-host")
    api.ok("runs/stop", {"runs_names": [run["id"]], "abort": True})
    page.goto("/fleets")
    expect(host).to_contain_text("idle", timeout=LIVE)


def ssh_instance() -> dict[str, Any]:
    """A host of an SSH fleet of project main. This stack runs on SQLite, where SSH fleets can't be
    created, so the browser's instances answer gets one added."""
    now = datetime.now(UTC).isoformat()
    resources = {"cpus": 8, "memory_mb": 65_536, "gpus": [{"index": 0, "name": "A100", "memory_mb": 81_920}]}
    return {"id": "gpu-0", "name": "gpu-box", "fleet_id": "fleet-gpu", "fleet_name": "gpu", "project_name": "main",
            "instance_num": 0, "backend": "ssh", "status": "idle", "resources": resources, "free": resources,
            "price": 2.5, "created": now, "last_seen_at": now, "jobs": []}


def with_ssh_fleet(route: Route) -> None:
    response = route.fetch()
    route.fulfill(response=response, json=[*response.json(), ssh_instance()])


def test_an_ssh_fleet_is_deleted_after_a_confirmation_by_its_managers_only(
        page: Page, deployment: DurastackProcesses) -> None:
    page.set_viewport_size(VIEWPORT)
    page.emulate_media(reduced_motion="reduce")  # the screenshot without the modal fading in
    page.route("**/api/instances/list", with_ssh_fleet)
    deletes: list[Any] = []

    def delete(route: Route) -> None:
        deletes.append(route.request.post_data_json)
        route.fulfill(json=[])

    page.route("**/api/project/main/fleets/delete", delete)
    sign_in(page, deployment.token)
    page.goto("/fleets")
    host = page.get_by_role("row").filter(has_text="gpu-box")
    expect(host).to_contain_text("8 CPU, 64GB, 1\N{MULTIPLICATION SIGN}A100")
    expect(host).to_contain_text("$2.50/h")
    expect(page.get_by_role("row").filter(has_text="SSH fleet of project main")).to_contain_text("gpu")
    button = page.get_by_role("button", name="Delete fleet gpu")
    expect(button).to_be_enabled()
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete fleet gpu?")
    screenshot(page, "fleets-delete")
    dialog.get_by_role("button", name="Cancel").click()
    assert deletes == []
    button.click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("Deleting fleet gpu")).to_be_visible()
    assert deletes == [{"names": ["gpu"]}]

    # A member who is no admin or manager of main sees the button disabled.
    api = deployment.client()
    username = f"fleetuser{uuid.uuid4().hex[:6]}"
    created = api.http.post("/api/users/create", json={"username": username, "global_role": "user"})
    assert created.status_code == 200, created.text
    added = api.http.post("/api/projects/main/add_members",
                          json={"members": [{"username": username, "project_role": "user"}]})
    assert added.status_code == 200, added.text
    page.get_by_role("button", name="admin").click()
    page.get_by_role("menuitem", name="Sign out").click()
    sign_in(page, created.json()["token"]["token"], username)
    page.goto("/fleets")
    expect(page.get_by_role("row").filter(has_text="gpu-box")).to_be_visible()
    expect(page.get_by_role("button", name="Delete fleet gpu")).to_be_disabled()
