"""A service's run page in a real browser: where it is reached (the proxy's URL, which answers),
its ready replicas and autoscaling, and each replica's port and readiness."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import LIVE, screenshot, sign_in
from tests.support.durastack import DurastackProcesses
from tests.support.replicas import service, wait_serving

pytestmark = pytest.mark.integration

VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def test_a_service_page_shows_its_url_readiness_and_autoscaling(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"svc-{uuid.uuid4().hex[:6]}"
    run = api.apply(service(name, replicas="1..3", scaling={"target": 50, "scale_down_delay": "1h"}))
    wait_serving(api, name, {0})
    page.set_viewport_size(VIEWPORT)
    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}?id={run['id']}")

    url = f"{deployment.url}/proxy/services/main/{name}/"
    expect(page.get_by_test_id("service-url")).to_contain_text(url, timeout=LIVE)
    answer = httpx.get(f"{url}who", headers={"Authorization": f"Bearer {deployment.token}"}, timeout=30)
    assert (answer.status_code, answer.json()["replica"]) == (200, 0)  # the URL shown answers
    expect(page.get_by_test_id("ready-replicas")).to_have_text("1")
    expect(page.get_by_test_id("autoscaling")).to_contain_text("rps, target 50 per replica")
    expect(page.get_by_test_id("deployment")).to_have_text("0")
    replicas = page.get_by_role("table", name="Replicas")
    port = api.get(name)["jobs"][0]["job_submissions"][-1]["port"]
    expect(replicas).to_contain_text(f"ready on port {port}")
    # Autoscaled: no manual scale control (the API refuses a manual scale of it).
    expect(page.get_by_role("button", name="Scale", exact=True)).to_have_count(0)
    screenshot(page, "service-run-page")
    api.ok("runs/stop", {"runs_names": [run["id"]], "abort": True})
    api.wait_finished(name)

    # A fixed count: no "between 4 and 4" control, but how to make it scalable.
    fixed = api.apply(service(f"{name}-fixed", replicas=4, resources={"cpu": 0.01, "memory": "16MB"}))
    page.goto(f"/projects/main/runs/{name}-fixed?id={fixed['id']}")
    expect(page.get_by_test_id("scale-fixed")).to_have_text(
        "Fixed at 4 replicas. To scale it, apply it with a range (for example replicas: 4..6).", timeout=LIVE)
    expect(page.get_by_role("button", name="Scale", exact=True)).to_have_count(0)
    api.ok("runs/stop", {"runs_names": [fixed["id"]], "abort": True})
