"""Services whose replicas serve HTTP (tests/support/replica_app.py), and ways to reach them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

APP = Path(__file__).with_name("replica_app.py")
SMALL = {"cpu": 0.1, "memory": "64MB"}


def replica_command(*arguments: str) -> str:
    """The app inline (a heredoc), so that a job's own Unix user needs no access to this checkout;
    `exec` makes it the job's main process, which gets the SIGTERM of a graceful stop."""
    return f"exec python3 - {' '.join(arguments)} <<'REPLICA_APP'\n{APP.read_text()}REPLICA_APP"


def service(name: str, *arguments: str, **fields: Any) -> dict[str, Any]:
    return {"type": "service", "name": name, "port": 8000, "commands": [replica_command(*arguments)],
            "resources": SMALL, "stop_duration": "10s", **fields}


def current_submissions(run: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {job["replica_num"]: job["job_submissions"][-1] for job in run["jobs"] if job["job_submissions"]}


def replica_url(run: dict[str, Any], replica_num: int) -> str:
    """A replica reached directly, past the proxy."""
    submission = current_submissions(run)[replica_num]
    return f"http://{submission['address']}:{submission['port']}"


def ready_replicas(run: dict[str, Any]) -> set[int]:
    return {num for num, submission in current_submissions(run).items()
            if submission["ready"] and submission["status"] == "running"}


def poll(what: str, attempt: Callable[[], Any], timeout: float = 60, interval: float = 0.1) -> Any:
    """`attempt()` until it returns something truthy; fails naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = attempt()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {answer!r})")
        time.sleep(interval)


def control(run: dict[str, Any], replica_num: int, action: str, **query: str) -> dict[str, Any]:
    response = httpx.post(f"{replica_url(run, replica_num)}/control/{action}", params=query, timeout=130)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def replica_state(run: dict[str, Any], replica_num: int) -> dict[str, Any]:
    """healthy, in_flight (requests in progress), last_close (of a WebSocket the client closed)."""
    response = httpx.get(f"{replica_url(run, replica_num)}/control/state", timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_serving(api: Any, run_name: str, replicas: set[int], timeout: float = 60) -> dict[str, Any]:
    """Until the run's projection, which the proxy routes by, shows exactly these replicas ready
    (a live `get` may be a moment ahead of it). `api`: tests.support.durastack.ApiClient."""
    def listed() -> dict[str, Any] | None:
        runs = api.ok("runs/list", {"run_name": run_name, "only_active": True})
        return runs[0] if runs and ready_replicas(runs[0]) == replicas else None

    listed_run: dict[str, Any] = poll(f"{run_name} serving from replicas {sorted(replicas)}", listed, timeout)
    return listed_run


def listening(run: dict[str, Any], replica_num: int) -> bool:
    """The replica's app answers (a replica is `running` from its process's start, before the app
    listens)."""
    try:
        httpx.get(f"{replica_url(run, replica_num)}/control/state", timeout=5)
    except httpx.TransportError:
        return False
    return True
