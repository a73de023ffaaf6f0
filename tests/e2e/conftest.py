"""The web UI in a real browser (Debian's Chromium, driven by Playwright) against a real stack."""

from __future__ import annotations

import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.databases import SqliteDatabases
from tests.support.durastack import REPO, DurastackProcesses
from tests.support.temporal import TemporalDevServer

CHROMIUM = Path("/usr/bin/chromium")
TEMPORAL_UI = "http://127.0.0.1:8233"
PRICE = 3.6  # per replica and hour, so that costs and cost rates show
SMALL = {"cpu": 0.1, "memory": "16MB"}
LIVE = 30_000  # ms: the UI polls every 2 s; a graceful stop here takes about a second
SCREENSHOTS = REPO / "test-output" / "ui"


@pytest.fixture(scope="session")
def built_ui() -> Path:
    """`scripts/build-ui` builds ui/dist only when it is missing or older than its sources."""
    subprocess.run([str(REPO / "scripts" / "build-ui")], check=True, cwd=REPO)
    return REPO / "ui" / "dist"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, temporal: TemporalDevServer,
               sqlite_databases: SqliteDatabases, built_ui: Path) -> Iterator[DurastackProcesses]:
    """One stack (SQLite) for the module: each test makes its own run names."""
    processes = DurastackProcesses(tmp_path_factory.mktemp("ui"), temporal.address, sqlite_databases.create(),
                                   price=PRICE)
    processes.env["DURASTACK_TEMPORAL_UI_URL"] = TEMPORAL_UI
    processes.start()
    yield processes
    processes.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API runs its own event loop, which must be gone before the
    asyncio tests of other modules run."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                               call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps whether the test failed, for the page fixture's screenshot."""
    report: pytest.TestReport = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, deployment: DurastackProcesses) -> Iterator[Page]:
    context = browser.new_context(base_url=deployment.url, viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}\n{error.stack}"))
    # React's warnings arrive as console errors; a refused request (a bad token, say) is no error of the page.
    page.on("console", lambda message: errors.append(f"console: {message.text}")
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    yield page
    if request.node.stash.get(FAILED, False):
        screenshot(page, f"failed-{request.node.name}")
    context.close()
    assert not errors, "the page threw:\n" + "\n".join(errors)


def sign_in(page: Page, token: str, username: str = "admin") -> None:
    page.goto("/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=username)).to_be_visible()


def confirm(page: Page, question: str, action: str) -> None:
    """Destructive actions ask first: the dialog says to what, and nothing happens until confirmed."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(question)
    dialog.get_by_role("button", name=action, exact=True).click()
    expect(dialog).to_be_hidden(timeout=LIVE)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def task(name: str, command: str = "sleep 300", replicas: int = 1) -> dict[str, Any]:
    """A small task that stops within a second."""
    configuration: dict[str, Any] = {"type": "task", "name": name, "commands": [command], "resources": SMALL,
                                     "stop_duration": "1s"}
    if replicas != 1:
        configuration["replicas"] = replicas
    return configuration


def run_row(page: Page, name: str) -> Locator:
    """The runs list's rows of runs of that name."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))


def sideways_overflow(table: Locator) -> dict[str, int]:
    """The scroll and visible widths of the box that scrolls the table sideways when it is too wide,
    and of the page."""
    sizes: dict[str, int] = table.evaluate("""(table) => {
        let box = table.parentElement;
        while (box && !["auto", "scroll"].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
        return { scrollWidth: box.scrollWidth, clientWidth: box.clientWidth,
                 pageScrollWidth: document.documentElement.scrollWidth,
                 pageClientWidth: document.documentElement.clientWidth };
    }""")
    return sizes
