"""The runs list as a person with many runs and reused names uses it, and what a plain member may
do with others' runs: filters reach every page, the table fits the screen, destructive actions
ask first, and buttons say why they are disabled."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Request, expect

from core.statuses import RunStatus
from tests.e2e.conftest import LIVE, PRICE, SMALL, run_row, screenshot, sideways_overflow, sign_in
from tests.support.durastack import ApiClient, DurastackProcesses
from tests.support.seed_runs import Seed, seed

pytestmark = pytest.mark.integration

LONG_NAME = "a-rather-long-hyperparameter-sweep-name-1"  # 41 characters, the most a run name may have
BIG = {"cpu": 16, "memory": "128GB", "gpu": "A100:80GB:8"}
MANAGERS_ONLY = "Only its owner or a project admin or manager may {} this run."


@pytest.fixture(scope="module")
def many_runs(deployment: DurastackProcesses) -> dict[str, list[str]]:
    """An hour ago: hp-trial-042 failed; then 45 newer sweeps, 15 hp-trials, a second hp-trial-042
    and a run with the longest name and resources. Their ids by name, oldest first."""
    runs = [Seed("main", "admin", "hp-trial-042", RunStatus.FAILED, "job_failed")]
    for i in range(60):
        name = f"hp-trial-{i:03d}" if i % 4 == 0 else f"sweep-{i:03d}"
        runs.append(Seed("main", "admin", name, RunStatus.DONE))
    runs.append(Seed("main", "admin", "hp-trial-042", RunStatus.DONE))
    runs.append(Seed("main", "admin", LONG_NAME, RunStatus.TERMINATED, "stopped_by_user", BIG))
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        ids = thread.submit(asyncio.run, seed(deployment.env["DATABASE_URL"], runs,
                                              start=datetime.now(UTC) - timedelta(hours=1))).result()
    by_name: dict[str, list[str]] = {}
    for run, run_id in zip(runs, ids, strict=True):
        by_name.setdefault(run.name, []).append(run_id)
    return by_name


def run_rows(page: Page) -> Locator:
    return page.get_by_role("table", name="Runs").get_by_role("row").filter(has=page.get_by_role("rowheader"))


def cell(page: Page, row: Locator, column: str) -> Locator:
    """A row's cell under the column of that header (the name is the row's header, not a cell)."""
    headers = page.get_by_role("table", name="Runs").get_by_role("columnheader").all_inner_texts()
    index = [header.strip() for header in headers].index(column)
    return row.locator("td, th").nth(index)


def names_shown(page: Page) -> list[str]:
    return [text.strip() for text in run_rows(page).get_by_role("rowheader").all_inner_texts()]


def test_filters_reach_every_page_and_say_what_they_are(page: Page, deployment: DurastackProcesses,
                                                        many_runs: dict[str, list[str]]) -> None:
    bodies: list[Any] = []
    page.on("request", lambda request: bodies.append(request.post_data_json)
            if request.url.endswith("/api/runs/list") else None)
    sign_in(page, deployment.token)
    expect(run_rows(page)).to_have_count(20)
    expect(page.get_by_text("failed (job_failed)")).to_have_count(0)  # 62 newer runs: page 4

    status = page.get_by_role("button", name="Status")
    expect(status).to_contain_text("Any status")
    status.click()
    page.get_by_role("option", name="failed").click()
    page.keyboard.press("Escape")
    expect(status).not_to_contain_text("Any status")
    expect(status.get_by_role("group", name="failed")).to_be_visible()  # the choice shows, as a token
    expect(run_rows(page)).to_have_count(1, timeout=LIVE)
    failed = run_row(page, "hp-trial-042")
    expect(failed).to_contain_text("failed (job_failed)")
    expect(failed.get_by_test_id("short-id")).to_have_text(many_runs["hp-trial-042"][0][:8])
    submitted = cell(page, failed, "Submitted").locator("time")
    expect(submitted).to_have_text(re.compile(r"^(59 min|1 h) ago$"))
    assert re.search(r"20\d\d", submitted.get_attribute("title") or ""), "the exact time on hover"
    assert {"statuses": ["failed"]}.items() <= bodies[-1].items()
    screenshot(page, "runs-list-filtered")

    # A piece of the name, in any case; the filter holds on the next page too.
    status.click()
    page.get_by_role("option", name="failed").click()
    page.keyboard.press("Escape")
    expect(status).to_contain_text("Any status")
    page.get_by_label("Run name").fill("TRIAL")
    expect(run_rows(page)).to_have_count(17, timeout=LIVE)  # 15 trials and hp-trial-042 twice
    assert all("hp-trial-" in name for name in names_shown(page))
    page.get_by_label("Run name").fill("sweep")
    expect(run_rows(page)).to_have_count(20, timeout=LIVE)
    page.get_by_role("button", name="Next page").click()
    expect(run_rows(page).first).to_contain_text("sweep-", timeout=LIVE)
    expect(run_rows(page)).to_have_count(20)
    assert all(name.startswith("sweep-") for name in names_shown(page))
    assert bodies[-1]["name_contains"] == "sweep" and "prev_run_id" in bodies[-1]

    page.get_by_label("Run name").fill("no-such-run")
    expect(page.get_by_text("No runs match the filters")).to_be_visible(timeout=LIVE)
    page.get_by_role("button", name="Clear filters").click()
    expect(run_rows(page)).to_have_count(20, timeout=LIVE)


def test_a_reused_name_shows_its_history(page: Page, deployment: DurastackProcesses,
                                         many_runs: dict[str, list[str]]) -> None:
    sign_in(page, deployment.token)
    older, newer = many_runs["hp-trial-042"]
    rows = run_row(page, "hp-trial-042")
    expect(rows).to_have_count(1)  # the older one is pages away
    page.get_by_role("button", name="History of hp-trial-042").click()
    expect(page.get_by_text("History of hp-trial-042")).to_be_visible()
    expect(rows).to_have_count(2, timeout=LIVE)
    expect(run_rows(page)).to_have_count(2)
    # Told apart by id (and status, and time), newest first.
    expect(rows.nth(0).get_by_test_id("short-id")).to_have_text(newer[:8])
    expect(rows.nth(1).get_by_test_id("short-id")).to_have_text(older[:8])
    expect(rows.nth(1).get_by_role("link", name="hp-trial-042")).to_have_attribute(
        "href", f"/projects/main/runs/hp-trial-042?id={older}")
    screenshot(page, "runs-list-history")
    # The address keeps the filters: a reload, or the link, shows the same history.
    history_url = f"{deployment.url}/runs?project=main&history=hp-trial-042&deleted=1"
    expect(page).to_have_url(history_url)
    page.reload()
    expect(rows).to_have_count(2, timeout=LIVE)
    page.get_by_role("button", name="Show all runs").click()
    expect(run_rows(page)).to_have_count(20, timeout=LIVE)
    expect(page).to_have_url(f"{deployment.url}/runs?project=main&deleted=1")  # the history's filter alone goes
    # A run's page leads to its name's history too.
    page.goto(f"/projects/main/runs/hp-trial-042?id={older}")
    page.get_by_role("link", name="Every run named hp-trial-042").click()
    expect(page).to_have_url(history_url)
    expect(rows).to_have_count(2, timeout=LIVE)


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (1280, 720)])
def test_the_list_fits_the_screen_with_the_navigation_open(page: Page, deployment: DurastackProcesses,
                                                           many_runs: dict[str, list[str]], width: int,
                                                           height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, deployment.token)
    expect(page.get_by_role("navigation", name="Side navigation")).to_be_visible()
    long_run = run_row(page, LONG_NAME)
    expect(long_run).to_contain_text("terminated (stopped_by_user)")
    expect(cell(page, long_run, "Resources")).to_have_text("16 CPU, 128GB, 8\N{MULTIPLICATION SIGN}A100 (≥80GB)")
    for header in ("Name", "Project / user", "Status", "Replicas", "Resources", "Price", "Cost", "Submitted"):
        expect(page.get_by_role("columnheader", name=header, exact=True)).to_be_in_viewport()
    sizes = sideways_overflow(page.get_by_role("table", name="Runs"))
    screenshot(page, f"runs-list-{width}")
    assert sizes["scrollWidth"] <= sizes["clientWidth"], sizes
    assert sizes["pageScrollWidth"] <= sizes["pageClientWidth"], sizes


@pytest.fixture
def member(deployment: DurastackProcesses) -> Iterator[tuple[str, str]]:
    """A plain user of project main, who is no admin: (name, token)."""
    name = f"member{uuid.uuid4().hex[:6]}"
    admin = deployment.client()
    created = admin.http.post("/api/users/create", json={"username": name, "global_role": "user"})
    assert created.status_code == 200, created.text
    added = admin.http.post("/api/projects/main/add_members",
                            json={"members": [{"username": name, "project_role": "user"}]})
    assert added.status_code == 200, added.text
    yield name, created.json()["token"]["token"]


def sleeper(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "task", "name": name, "commands": ["sleep 300"], "resources": SMALL, "stop_duration": "1s",
            **extra}


def test_a_member_can_act_only_on_its_own_runs_and_is_asked_first(
        page: Page, deployment: DurastackProcesses, member: tuple[str, str]) -> None:
    username, token = member
    admin = deployment.client()
    theirs, mine = f"theirs-{uuid.uuid4().hex[:6]}", f"mine-{uuid.uuid4().hex[:6]}"
    admin.apply({**sleeper(theirs), "type": "service", "port": 8000, "replicas": "1..3"})
    ApiClient(deployment.url, token).apply(sleeper(mine))
    for name in (theirs, mine):
        admin.wait_for(name, lambda run: run["status"] == "running", what="running")
    stops: list[Request] = []
    page.on("request", lambda request: stops.append(request) if request.url.endswith("/runs/stop") else None)

    sign_in(page, token, username)
    expect(run_row(page, mine)).to_contain_text("running", timeout=LIVE)
    # What each replica asks for and what its instance costs, and when it was submitted.
    expect(cell(page, run_row(page, mine), "Resources")).to_have_text("0.1 CPU, 16MB")
    expect(cell(page, run_row(page, mine), "Price")).to_have_text(f"${PRICE:.2f}/h", timeout=LIVE)
    expect(cell(page, run_row(page, mine), "Submitted")).to_have_text(re.compile(r"^(just now|\d+ s ago|1 min ago)$"))

    page.get_by_role("checkbox", name=f"Select {theirs}").check()
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_disabled()
    stop.hover()  # a disabled button says why
    expect(page.get_by_role("tooltip")).to_have_text(MANAGERS_ONLY.format("stop"))
    screenshot(page, "runs-list-not-yours")

    # With its own run selected too, the batch acts on that one, and says which it leaves.
    page.get_by_role("checkbox", name=f"Select {mine}").check()
    expect(stop).to_be_enabled()
    stop.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Stop run {mine}?")
    expect(dialog).to_contain_text(f"{theirs} is left as it is: only its owner or a project admin or manager")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert stops == []  # asked, not done
    page.get_by_role("button", name="Abort", exact=True).click()
    expect(dialog).to_contain_text("killed at once, without a graceful stop")
    screenshot(page, "runs-list-confirm-abort")
    dialog.get_by_role("button", name="Abort", exact=True).click()
    expect(page.get_by_text(f"Aborting {mine}; 1 run could not be aborted", exact=True)).to_be_visible(timeout=LIVE)
    expect(page.get_by_text(f"{theirs}: {MANAGERS_ONLY.format('abort').lower()}")).to_be_visible()
    sent = stops[0].post_data_json if len(stops) == 1 else None
    assert sent is not None and sent["runs_names"] == [admin.get(mine)["id"]], stops
    expect(run_row(page, mine)).to_contain_text("terminated", timeout=LIVE)
    assert admin.get(theirs)["status"] == "running"

    # The other's run page: nothing to press, each control saying why; no Temporal UI (it shows
    # every project, so global admins only).
    page.goto(f"/projects/main/runs/{theirs}")
    expect(page.get_by_role("heading", name=theirs, exact=True)).to_be_visible()
    expect(page.get_by_text("running", exact=True).first).to_be_visible(timeout=LIVE)
    for action in ("Stop", "Abort"):
        expect(page.get_by_role("button", name=action, exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Scale", exact=True)).to_be_disabled()
    expect(page.get_by_text(MANAGERS_ONLY.format("scale"))).to_be_visible()
    page.get_by_role("button", name="Stop", exact=True).hover()
    expect(page.get_by_role("tooltip")).to_have_text(MANAGERS_ONLY.format("stop"))
    expect(page.get_by_role("link", name="Open in Temporal UI")).to_have_count(0)
    screenshot(page, "run-details-not-yours")
    admin.ok("runs/stop", {"runs_names": [theirs], "abort": True})
