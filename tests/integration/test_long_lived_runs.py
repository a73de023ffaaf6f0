"""Runs that live long: a service rescaled a thousand times continues as new and loses nothing, and
the Temporal console tells each run's truth. Real processes, a real Temporal dev server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from core import search_attributes
from server.temporal import connect
from tests.support.durastack import DurastackProcesses
from tests.support.temporal import TemporalDevServer

pytestmark = pytest.mark.integration

Deploy = Callable[..., DurastackProcesses]
COUNTER = 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.2; done'
RESCALES = 1000


async def histories_of(client: Client, workflow_id: str) -> list[int]:
    """The length of every execution's history of a workflow id, oldest first."""
    lengths = []
    async for execution in client.list_workflows(f"WorkflowId='{workflow_id}'"):
        handle = client.get_workflow_handle(workflow_id, run_id=execution.run_id)
        lengths.append(len((await handle.fetch_history()).events))
    return lengths


@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)  # about two minutes: one database
async def test_a_service_rescaled_a_thousand_times_stays_bounded_and_loses_nothing(
        deploy: Deploy, temporal: TemporalDevServer) -> None:
    api = deploy().client()
    name = api.apply({"type": "service", "name": "long-lived", "port": 8000, "replicas": "1..2",
                      "commands": [COUNTER], "stop_duration": "1s",
                      "resources": {"cpu": 0.1, "memory": "16MB"}})["run_name"]
    api.wait_for(name, lambda run: run["running_replicas"] == 1, what="1 running")
    for round_ in range(RESCALES):
        outcome = api.ok("runs/scale", {"runs_names": [name], "replicas": 2 - round_ % 2})
        assert outcome["results"][0]["outcome"] == "scaled", outcome
    run = api.wait_for(name, lambda run: run["running_replicas"] == 1 and all(
        job["job_submissions"][-1]["status"] in ("running", "terminated") for job in run["jobs"]),
        timeout=120, what="the last scale-down done")
    assert run["desired_replicas"] == 1

    client = await connect(temporal.address, "default")
    lengths = await histories_of(client, run["workflow_id"])
    assert len(lengths) > 2 and max(lengths) < 2_000, lengths  # it continued as new, each history bounded

    api.ok("runs/stop", {"runs_names": [name]})
    final = api.wait_finished(name, timeout=60)
    submissions = [s for job in final["jobs"] for s in job["job_submissions"]]
    assert len({s["id"] for s in submissions}) == len(submissions)
    # Replica 0, and one per scale-up, every one listed.
    assert len(submissions) == 1 + RESCALES // 2, [
        (job["replica_num"], s["submission_num"], s["status"], s["termination_reason"])
        for job in final["jobs"] for s in job["job_submissions"] if s["termination_reason"] != "scaled_down"]
    assert all(s["finished_at"] is not None and s["cost"] >= 0 for s in submissions)
    (replica_0,) = [job for job in final["jobs"] if job["replica_num"] == 0]
    assert len(replica_0["job_submissions"]) == 1  # never restarted: every execution re-attached its watcher
    lines = [line["message"] for line in api.logs(name, 0)]
    assert lines == [f"line {i}" for i in range(len(lines))] and len(lines) > 10  # none lost, none twice


async def test_the_console_shows_each_runs_truth(deploy: Deploy, temporal: TemporalDevServer) -> None:
    api = deploy().client()
    small = {"resources": {"cpu": 0.1, "memory": "16MB"}}
    api.apply({"type": "task", "name": "ok-task", "commands": ["echo done"], **small})
    api.apply({"type": "task", "name": "bad-task", "commands": ["exit 3"], **small})
    api.apply({"type": "task", "name": "long-task", "commands": ["sleep 300"], **small})
    api.wait_for("long-task", lambda run: run["status"] == "running", what="running")
    api.ok("runs/stop", {"runs_names": ["long-task"]})
    runs: dict[str, dict[str, Any]] = {name: api.wait_finished(name) for name in ("ok-task", "bad-task", "long-task")}

    client = await connect(temporal.address, "default")
    expected = {"ok-task": (WorkflowExecutionStatus.COMPLETED, "done"),
                "bad-task": (WorkflowExecutionStatus.FAILED, "failed"),
                "long-task": (WorkflowExecutionStatus.COMPLETED, "terminated")}
    for name, (status, run_status) in expected.items():
        handle = client.get_workflow_handle(runs[name]["workflow_id"])
        description = await handle.describe()
        assert description.status == status, name
        assert await description.static_summary() == f"task {name} in project main"
        assert description.typed_search_attributes.get(search_attributes.RUN_STATUS) == run_status
        assert f"**{run_status}**" in str(await handle.query("__temporal_workflow_metadata"))
    with pytest.raises(WorkflowFailureError) as failed:
        await client.get_workflow_handle(runs["bad-task"]["workflow_id"]).result()
    assert "run bad-task failed: job_failed; replica 0 (submission 0) ended with exit code 3" in str(
        failed.value.cause)
