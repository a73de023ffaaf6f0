"""Batches of stops and scales: no stop is ever lost, and concurrent clients never see a 5xx."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import DescribeBatchOperationRequest
from temporalio.client import Client

from tests.support.durastack import TERMINAL, ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

Deploy = Callable[..., DurastackProcesses]
SMALL = {"cpu": 0.1, "memory": "16MB"}


def wait_all_finished(api: ApiClient, names: set[str], timeout: float = 120) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = {run["run_name"]: run for run in api.ok("runs/list", {"limit": 1000}) if run["run_name"] in names}
        if len(runs) == len(names) and all(run["status"] in TERMINAL for run in runs.values()):
            return runs
        time.sleep(0.5)
    active = sorted(name for name, run in runs.items() if run["status"] not in TERMINAL)
    raise AssertionError(f"{len(active)} runs never finished: {active[:10]}")


def submit_mixed(api: ApiClient, prefix: str) -> list[str]:
    """200 runs caught in every state: running, retrying with backoff, waiting for capacity,
    and just submitted (submitted or provisioning when the stop arrives)."""
    kinds = [
        ("running", 60, {"commands": ["sleep 600"], "resources": SMALL, "stop_duration": "2s"}),
        ("retrying", 60, {"commands": ["exit 1"], "resources": SMALL,
                          "retry": {"on_events": ["error"], "duration": "10m"}}),
        # The running ones hold 6 of the host's 10 CPUs: these can't start while they live.
        ("waiting", 60, {"commands": ["sleep 600"], "resources": {"cpu": 5, "memory": "16MB"}}),
    ]
    names = [f"{prefix}-{kind}-{i}" for kind, count, _ in kinds for i in range(count)]
    configurations = [configuration for _, count, configuration in kinds for _ in range(count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda pair: api.apply({"type": "task", "name": pair[0], **pair[1]}),
                      zip(names, configurations, strict=True)))
    api.wait_for(f"{prefix}-running-59", lambda run: run["status"] == "running", what="running")
    fresh = [f"{prefix}-fresh-{i}" for i in range(20)]
    for name in fresh:
        api.apply({"type": "task", "name": name, "commands": ["sleep 600"], "resources": SMALL})
    return names + fresh


def wait_for_states(api: ApiClient, wanted: set[str], timeout: float = 60) -> set[str]:
    """The active runs' statuses once they include `wanted` (the workflows of the runs submitted
    last may not have looked for capacity yet), or as they are at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        states = {run["status"] for run in api.ok("runs/list", {"only_active": True, "limit": 1000})}
        if wanted <= states or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def batch_operations(deployment: DurastackProcesses) -> list[tuple[int, int, int]]:
    """(runs, signals delivered, signals failed) of each batch operation the API's log says it
    started, as the Temporal server reports it once finished."""
    started = re.findall(r"batch operation started\s.*?job_id=(\S+).*?runs=(\d+)", deployment.read_log("api"))

    async def describe() -> list[tuple[int, int, int]]:
        client = await Client.connect(deployment.temporal_address)
        counts = []
        for job_id, runs in started:
            deadline = time.monotonic() + 60
            while True:
                described = await client.workflow_service.describe_batch_operation(
                    DescribeBatchOperationRequest(namespace=client.namespace, job_id=job_id))
                if described.state != BatchOperationState.BATCH_OPERATION_STATE_RUNNING or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            counts.append((int(runs), described.complete_operation_count, described.failure_operation_count))
        return counts

    return asyncio.run(describe())


# Each round submits 200 runs, has some running and some waiting for capacity, and stops them all
# with one request. Five rounds ran for a while and never lost a stop; two keep the CI within bounds.
ROUNDS = 2


@pytest.mark.timeout(900)  # two rounds of 200 runs on two cores: about 1.5 minutes, 4 beside another test
def test_one_request_stops_200_runs_in_every_state_and_none_is_lost(deploy: Deploy) -> None:
    deployment = deploy(cpus=10, memory="64GB")
    api = deployment.client()
    for round_num in range(ROUNDS):
        names = submit_mixed(api, f"r{round_num}")
        states = wait_for_states(api, {"running", "pending"})
        assert {"running", "pending"} <= states, states

        response = api.ok("runs/stop", {"runs_names": names})
        assert len(response["results"]) == 200
        assert {result["outcome"] for result in response["results"]} == {"stopping"}

        runs = wait_all_finished(api, set(names))
        assert {(run["status"], run["termination_reason"]) for run in runs.values()} == {
            ("terminated", "stopped_by_user")}
        # Stays stopped: nothing runs, nothing is resubmitted.
        time.sleep(1)
        again = {run["run_name"]: run for run in api.ok("runs/list", {"limit": 1000}) if run["run_name"] in runs}
        assert all(again[name]["version"] == run["version"] for name, run in runs.items())
        assert api.ok("runs/list", {"only_active": True}) == []

    # Each request went out as one Temporal batch operation, which reached every run whose
    # workflow had started (the just-submitted ones got their own signals).
    operations = batch_operations(deployment)
    assert len(operations) == ROUNDS
    assert all(runs >= 100 and delivered == runs and failed == 0 for runs, delivered, failed in operations), operations


def test_concurrent_batch_clients_never_get_a_server_error(deploy: Deploy) -> None:
    deployment = deploy(cpus=20, memory="64GB")
    api = deployment.client()
    names = [f"svc-{i}" for i in range(10)]
    for name in names:
        api.apply({"type": "service", "name": name, "port": 8000, "replicas": "1..4", "stop_duration": "2s",
                   "commands": ["sleep 600"], "resources": SMALL})

    statuses: list[int] = []
    stopped: set[str] = set()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=deployment.url, timeout=60,
                          headers={"Authorization": f"Bearer {deployment.token}"}) as http:
            for _ in range(5):
                batch = rng.sample(names, rng.randint(2, 6))
                if rng.random() < 0.8:
                    body: dict[str, Any] = {"runs_names": batch, "replicas": rng.randint(1, 4)}
                    response = http.post("/api/project/main/runs/scale", json=body)
                else:  # only the first three runs are ever stopped here; "x-…" exercises not_found
                    body = {"runs_names": [f"x-{seed}", rng.choice(names[:3])]}
                    response = http.post("/api/project/main/runs/stop", json=body)
                    stopped.update(r["run_name"] for r in response.json()["results"] if r["outcome"] == "stopping")
                statuses.append(response.status_code)

    # Phase 1: 50 clients at once, overlapping runs.
    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(client, range(50)))
    assert statuses and all(status < 500 for status in statuses), sorted(set(statuses))

    # Phase 2: the last command for every run not stopped yet, then check each ends as it asked.
    remaining = sorted(set(names) - stopped)
    to_stop = remaining[::2]
    targets = {name: 1 + i % 4 for i, name in enumerate(sorted(set(remaining) - set(to_stop)))}
    api.ok("runs/stop", {"runs_names": to_stop})
    for replicas in set(targets.values()):
        api.ok("runs/scale", {"runs_names": [n for n, r in targets.items() if r == replicas], "replicas": replicas})
    for name in [*to_stop, *stopped]:
        assert api.wait_finished(name)["status"] == "terminated"
    for name, replicas in targets.items():
        run = api.wait_for(name, lambda run, r=replicas: run["running_replicas"] == r and all(
            job["job_submissions"][-1]["status"] in ("running", "terminated") for job in run["jobs"]),
            what=f"{replicas} running")
        assert run["desired_replicas"] == replicas
    logs = deployment.read_log("api") + deployment.read_log("worker")
    assert "database is locked" not in logs
    assert "Traceback" not in logs
    api.ok("runs/stop", {"runs_names": names, "abort": True})
