"""A run's Logs tab in a real browser: following never takes the scrolling away from the reader,
a long log says it is shown in part, reads earlier lines on scroll and downloads whole, and lines
can show their times and, all replicas together, their replicas."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import LIVE, screenshot, sign_in, task
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration


def pane_position(pane: Locator) -> dict[str, float]:
    return pane.evaluate("p => ({top: p.scrollTop, bottom: p.scrollHeight - p.scrollTop - p.clientHeight})")


def last_line(pane: Locator) -> Locator:
    return pane.locator(".log-line").last


def test_following_stays_in_the_log_pane_and_pauses_while_the_reader_scrolls_up(
        page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"chatty-{uuid.uuid4().hex[:6]}"
    api.apply(task(name, "seq 1 300; while true; do echo tick-$(date +%s%N); sleep 0.2; done"))
    api.wait_for(name, lambda run: run["status"] == "running", what="running")

    page.set_viewport_size({"width": 1400, "height": 700})  # the page scrolls: its logs are below the fold
    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")
    pane = page.get_by_test_id("log-lines")
    expect(pane).to_contain_text("tick-", timeout=LIVE)
    assert page.evaluate("document.scrollingElement.scrollHeight > window.innerHeight")
    assert page.evaluate("window.scrollY") == 0, "the page scrolled itself to the logs"

    # The page stays where the reader put it while lines keep coming.
    page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    page.evaluate("window.scrollTo(0, 0)")
    for _ in range(2):
        newest = last_line(pane).inner_text()
        expect(last_line(pane)).not_to_have_text(newest, timeout=LIVE)
    assert page.evaluate("window.scrollY") == 0, "following scrolled the page"
    # The pane itself follows while it is at its bottom.
    assert pane_position(pane)["bottom"] <= 4

    # Scrolled up in the pane, the reader stays put and is told of new lines.
    pane.evaluate("p => { p.scrollTop = p.scrollHeight / 3 }")
    top = pane_position(pane)["top"]
    below = page.get_by_role("button", name="New lines below")
    expect(below).to_be_visible(timeout=LIVE)
    newest = last_line(pane).inner_text()
    expect(last_line(pane)).not_to_have_text(newest, timeout=LIVE)
    assert abs(pane_position(pane)["top"] - top) <= 1, "the pane jumped while the reader read"
    screenshot(page, "run-details-logs-paused")

    below.click()  # Playwright scrolls the page to the button first, as a reader would
    expect(below).to_have_count(0)
    page_at = page.evaluate("window.scrollY")
    newest = last_line(pane).inner_text()
    expect(last_line(pane)).not_to_have_text(newest, timeout=LIVE)
    assert pane_position(pane)["bottom"] <= 4, "following did not resume"
    assert page.evaluate("window.scrollY") == page_at
    api.ok("runs/stop", {"runs_names": [name], "abort": True})


def test_a_long_log_says_it_is_partial_reads_back_and_downloads_whole(
        page: Page, deployment: DurastackProcesses, tmp_path: Path) -> None:
    api = deployment.client()
    name = f"long-{uuid.uuid4().hex[:6]}"
    api.apply(task(name, "seq 1 25000"))
    api.wait_finished(name, timeout=120)

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")
    pane = page.get_by_test_id("log-lines")
    expect(last_line(pane)).to_have_text("25000", timeout=LIVE)
    notice = page.get_by_test_id("log-window-notice")
    expect(notice).to_contain_text("of a longer log: earlier lines load as you scroll up")
    expect(page.get_by_role("button", name="Copy shown lines")).to_be_visible()

    # Scrolling up reads earlier pages, and the window stays bounded, down to the first line.
    first = pane.locator(".log-line").first
    for _ in range(40):
        if first.inner_text() == "1":
            break
        before = first.inner_text()
        pane.evaluate("p => { p.scrollTop = 0 }")
        expect(first).not_to_have_text(before, timeout=LIVE)
        assert pane.locator(".log-line").count() <= 10_000
    expect(first).to_have_text("1")
    expect(notice).to_contain_text("later lines load as you scroll down")
    # Kept in place: the line the reader was at stays in view after earlier lines came in above it.
    assert pane_position(pane)["top"] > 0
    screenshot(page, "run-details-logs-read-back")

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download full log").click()
    download = downloading.value
    assert download.suggested_filename == f"{name}-replica-0.log"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_text().splitlines() == [str(i) for i in range(1, 25_001)]

    # Back to the end: the newest lines again.
    page.get_by_role("button", name="Jump to the end").click()
    expect(last_line(pane)).to_have_text("25000", timeout=LIVE)


def test_timestamps_and_every_replica_labelled(page: Page, deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"trio-{uuid.uuid4().hex[:6]}"
    api.apply(task(name, "echo hello-from-$DURASTACK_REPLICA_NUM", replicas=3))
    api.wait_finished(name)

    sign_in(page, deployment.token)
    page.goto(f"/projects/main/runs/{name}")
    pane = page.get_by_test_id("log-lines")
    expect(pane).to_have_text("hello-from-0", timeout=LIVE)
    page.get_by_role("button", name="Replica 0").click()
    page.get_by_role("option", name="All replicas").click()
    for replica in range(3):
        expect(pane.locator(".log-line", has_text=f"hello-from-{replica}")).to_have_text(
            f"[replica {replica}] hello-from-{replica}", timeout=LIVE)

    page.get_by_text("Timestamps").click()
    expect(pane.locator(".log-line").first).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[replica \d\] hello-from-\d$"))
    screenshot(page, "run-details-logs-all-replicas")
