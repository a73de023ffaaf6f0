"""Every page of the UI in the two window sizes people use most (1440x900 and 1280x720), with a
live service, a task that logs and a failed task: each page shows its content without a sideways
scroll, and its screenshot lands in test-output/ui/pages/ to be looked at."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.e2e.conftest import LIVE, SMALL, screenshot, sign_in
from tests.support.durastack import DurastackProcesses
from tests.support.replicas import service, wait_serving

pytestmark = pytest.mark.integration

WINDOWS: list[ViewportSize] = [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}]
LOGGING = 'i=0; while true; do echo "working on step $i"; i=$((i+1)); sleep 0.5; done'


def page_scroll_width(page: Page) -> tuple[int, int]:
    width: tuple[int, int] = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return width


def test_every_page_fits_both_windows(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    suffix = uuid.uuid4().hex[:6]
    web, logs, fails = f"web-{suffix}", f"train-{suffix}", f"flaky-{suffix}"
    api.apply(service(web, replicas="1..2"))
    api.apply({"type": "task", "name": logs, "commands": [LOGGING], "resources": SMALL, "stop_duration": "1s"})
    api.apply({"type": "task", "name": fails, "commands": ["echo giving up; exit 3"], "resources": SMALL})
    wait_serving(api, web, {0})
    api.wait_finished(fails)

    sign_in(page, deployment.token)
    pages: list[tuple[str, str, Locator]] = [
        ("runs", "/runs", page.get_by_role("link", name=web, exact=True)),
        ("run-service", f"/projects/main/runs/{web}", page.get_by_test_id("service-url")),
        ("run-task-logs", f"/projects/main/runs/{logs}",
         page.get_by_test_id("log-lines").get_by_text("working on step 3")),
        ("run-failed", f"/projects/main/runs/{fails}", page.get_by_test_id("status-message")),
        ("submit", "/submit", page.get_by_role("heading", name="Submit a run")),
        ("fleets", "/fleets", page.get_by_text("workers shared by every project")),
        ("projects", "/projects", page.get_by_role("table").get_by_text("main", exact=True)),
        ("users", "/users", page.get_by_role("table").get_by_text("admin", exact=True)),
        ("profile", "/profile", page.get_by_role("table").get_by_text("server admin token")),
    ]
    for window in WINDOWS:
        page.set_viewport_size(window)
        for name, path, content in pages:
            page.goto(path)
            expect(content.first).to_be_visible(timeout=LIVE)
            scroll_width, client_width = page_scroll_width(page)
            assert scroll_width <= client_width, (name, window, scroll_width, client_width)
            screenshot(page, f"pages/{name}-{window['width']}x{window['height']}")
    api.ok("runs/stop", {"runs_names": [web, logs], "abort": True})
