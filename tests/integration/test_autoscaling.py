"""Autoscaling services by requests per second, through the real proxy: load scales a service up
and, once it stops, back down; a service at zero replicas answers a held request after a cold
start; a manual scale of an autoscaled service is refused. Also the pieces beneath: the traffic
table summed over API processes, and the lock that lets one process decide."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from api.services.traffic import TrafficCounter
from store.database import Database
from store.leader_lock import LeaderLock
from store.traffic import TrafficStore
from tests.support.durastack import DurastackProcesses
from tests.support.replicas import service as replica_service

pytestmark = pytest.mark.integration

# Short windows and delays so that each test takes seconds; the autoscaler decides every 2 s.
SCALING = {"metric": "rps", "target": 1, "window": "2s", "scale_up_delay": "0s", "scale_down_delay": "4s"}
# The rounds of the decider, a replica's start and readiness, on a busy 2-core machine.
DEADLINE = 60


def service(name: str, replicas: str, scaling: dict[str, Any] | None = None) -> dict[str, Any]:
    return replica_service(name, replicas=replicas, scaling=scaling or SCALING, stop_duration="2s")


def ready_replicas(run: dict[str, Any]) -> int:
    return sum(1 for job in run["jobs"] if (s := job["job_submissions"][-1])["status"] == "running" and s["ready"])


def autoscaler_events(run: dict[str, Any]) -> list[str]:
    return [event["message"] for event in run["events"] if event["message"].startswith("autoscaler: ")]


def steps(events: list[str]) -> list[tuple[int, int]]:
    """(from, to) of each "autoscaler: 1 → 3 (12.1 rps, target 1)"."""
    matches = [re.fullmatch(r"autoscaler: (\d+) → (\d+) \(\d+\.\d rps, target 1\)", event) for event in events]
    assert all(matches), events
    return [(int(match[1]), int(match[2])) for match in matches if match]


def proxy(stack: DurastackProcesses, url: str | None = None, timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=f"{url or stack.url}/proxy/services/main", timeout=timeout,
                        headers={"Authorization": f"Bearer {stack.token}"})


@contextmanager
def load(stack: DurastackProcesses, name: str, urls: list[str]) -> Iterator[list[int]]:
    """Small requests to the service, one after another through each API (about 10 a second
    each), until the block ends; yields the status codes so far."""
    statuses: list[int] = []
    stop = threading.Event()

    def send(url: str) -> None:
        with proxy(stack, url) as http:
            while not stop.is_set():
                try:
                    statuses.append(http.get(f"/{name}/").status_code)
                except httpx.HTTPError:
                    statuses.append(0)
                stop.wait(0.05)

    threads = [threading.Thread(target=send, args=(url,), daemon=True) for url in urls]
    for thread in threads:
        thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_load_scales_a_service_up_and_it_scales_back_down_once_the_load_stops(
        deployment: DurastackProcesses) -> None:
    """Through two API processes: both count, one decides."""
    api = deployment.client()
    api.apply(service("busy", "1..3"))
    second = deployment.add_api()  # meanwhile the first replica starts
    api.wait_for("busy", lambda run: ready_replicas(run) == 1, DEADLINE, "one replica ready")

    with load(deployment, "busy", [deployment.url, str(second.http.base_url)]) as statuses:
        run = api.wait_for("busy", lambda run: ready_replicas(run) == 3, DEADLINE, "three replicas ready")
        assert run["desired_replicas"] == 3
    assert statuses and set(statuses) == {200}, f"requests failed while scaling up: {sorted(set(statuses))}"
    # ~20 rps over a target of 1 asks for 20, so 3; a first round that saw part of the load may step.
    up = steps(autoscaler_events(run))
    assert up[0][0] == 1 and up[-1][1] == 3 and all(before < after for before, after in up), up

    run = api.wait_for("busy", lambda run: run["desired_replicas"] == 1 and ready_replicas(run) == 1,
                       DEADLINE, "back to one replica")
    down = steps(autoscaler_events(run))[len(up):]
    assert down[0][0] == 3 and down[-1][1] == 1 and all(before > after for before, after in down), down
    # The first API process took the lock when it started; the second never decided.
    other_log = deployment.read_log(f"api-{second.http.base_url.port}")
    assert "autoscaled" in deployment.read_log("api") and "autoscaled" not in other_log
    assert "leader lock taken" not in other_log
    api.ok("runs/stop", {"runs_names": ["busy"], "abort": True})


def test_a_service_at_zero_answers_a_held_request_after_a_cold_start(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    quiet = {**SCALING, "scale_down_delay": "2s"}
    api.apply(service("sleepy", "0..2", quiet))
    # It starts one replica, and with no request for scale_down_delay goes to zero.
    run = api.wait_for("sleepy", lambda run: run["desired_replicas"] == 0 and run["running_replicas"] == 0,
                       DEADLINE, "scaled to zero")
    assert autoscaler_events(run) == ["autoscaler: 1 → 0 (no request for 2s)"]

    started = time.monotonic()
    with proxy(deployment, timeout=DEADLINE) as http:
        answer = http.get("/sleepy/")
    assert answer.status_code == 200 and answer.json()["path"] == "/", answer.text
    cold_start = time.monotonic() - started
    run = api.get("sleepy")
    assert autoscaler_events(run)[1] == "autoscaler: 0 → 1 (a request is waiting)"
    assert run["desired_replicas"] >= 1
    assert cold_start < DEADLINE
    # Back to zero once its replica has been ready, with no request, for scale_down_delay.
    run = api.wait_for("sleepy", lambda run: run["desired_replicas"] == 0, DEADLINE, "back to zero")
    assert autoscaler_events(run)[2:] == ["autoscaler: 1 → 0 (no request for 2s)"]
    api.ok("runs/stop", {"runs_names": ["sleepy"], "abort": True})


def test_a_manual_scale_of_an_autoscaled_service_is_refused_and_apply_still_changes_it(
        deployment: DurastackProcesses) -> None:
    api = deployment.client()
    first = api.apply(service("steered", "1..3"))
    api.apply(service("plain", "1..3", None) | {"scaling": None})
    api.wait_for("plain", lambda run: run["status"] == "running", DEADLINE, "running")

    outcome = api.ok("runs/scale", {"runs_names": ["steered", "plain"], "replicas": 2})
    assert outcome["results"] == [
        {"run_name": "steered", "id": first["id"], "outcome": "error: run steered is autoscaled (scaling: rps, "
                                                              "target 1); change replicas or scaling with apply"},
        {"run_name": "plain", "id": api.get("plain")["id"], "outcome": "scaled"}]  # one run left: an update
    # Out of its range too: still the autoscaler's refusal, not a 400 about the range.
    alone = api.ok("runs/scale", {"runs_names": ["steered"], "replicas": 9})
    assert alone["results"][0]["outcome"].startswith("error: run steered is autoscaled")

    updated = api.apply(service("steered", "2..3"))  # a new range, applied in place: 1 → 2
    assert updated["id"] == first["id"]
    run = api.wait_for("steered", lambda run: run["desired_replicas"] == 2, DEADLINE, "two replicas desired")
    assert run["configuration"]["replicas"] == "2..3"
    api.ok("runs/stop", {"runs_names": ["steered", "plain"], "abort": True})


# -- the pieces beneath ------------------------------------------------------------------------


async def test_requests_are_summed_over_processes_and_old_seconds_pruned(database: Database) -> None:
    store = TrafficStore(database)
    await store.add("api-1", {("web", 100): 3, ("web", 101): 2, ("db", 101): 1})
    await store.add("api-2", {("web", 101): 4})
    await store.add("api-1", {("web", 101): 1})  # a later flush of the same second adds up
    assert await store.requests({"web": 100, "db": 101}, end=102) == {"web": 10, "db": 1}
    assert await store.requests({"web": 101}, end=102) == {"web": 7}
    assert await store.requests({"web": 100}, end=101) == {"web": 3}
    assert await store.latest_buckets(["web", "db", "idle"]) == {"web": 101, "db": 101}

    assert await store.prune(keep_since=101, forget_before=0) == 1  # web's second 100
    # Before keep_since, but each run's latest second stays: "when was the last request".
    assert await store.prune(keep_since=500, forget_before=0) == 0
    assert await store.latest_buckets(["web", "db"]) == {"web": 101, "db": 101}
    assert await store.prune(keep_since=500, forget_before=102) == 3
    assert await store.latest_buckets(["web", "db"]) == {}


async def test_a_counter_flushes_its_counts_per_second(database: Database) -> None:
    now = [1000.2]
    counter = TrafficCounter(TrafficStore(database), process_id="api-1", clock=lambda: now[0])
    for _ in range(3):
        counter.count("web")
    now[0] = 1001.7
    counter.count("web")
    counter.count("db")
    assert await counter.flush() == 5
    assert await counter.flush() == 0
    store = TrafficStore(database)
    assert await store.requests({"web": 1000, "db": 1000}, end=1002) == {"web": 4, "db": 1}
    assert await store.requests({"web": 1001}, end=1002) == {"web": 1}


async def test_one_process_at_a_time_holds_the_leader_lock(database: Database) -> None:
    """Two processes, as two engines on one database: the second gets the lock once the first
    lets it go (a process that dies lets it go the same way: its session or file closes)."""
    other = Database(database.url)
    first, second = (LeaderLock(db, 7_303_999, "test") for db in (database, other))
    try:
        assert await first.held()
        assert not await second.held()
        assert await first.held()  # kept, not taken twice
        await first.release()
        assert await second.held()
        assert not await first.held()
    finally:
        await first.release()
        await second.release()
        await other.dispose()
