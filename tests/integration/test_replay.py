"""Determinism: histories of real runs replay against the current workflow code.

Set DURASTACK_RECORD_HISTORIES=tests/histories to refresh the recorded histories that
tests/unit/test_recorded_histories.py replays without a server."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from server.temporal import connect
from tests.integration.test_run_lifecycle import SIGTERM_AWARE, numbered_task
from tests.support.durastack import DurastackProcesses
from tests.support.replay import replay
from tests.support.temporal import TemporalDevServer

pytestmark = pytest.mark.integration

HTTP_SERVER = "exec python3 -m http.server $PORT --bind 127.0.0.1"


async def test_histories_of_real_runs_replay(deploy: Callable[..., DurastackProcesses],
                                             temporal: TemporalDevServer, database_kind: str) -> None:
    deployment = deploy(cpus=1, memory="1GB")
    api = deployment.client()
    api.apply(numbered_task("replay-done", n=5, replicas=2))
    api.apply({"type": "task", "name": "replay-retry", "commands": ["exit 1"],
               "retry": {"on_events": ["error"], "duration": "2s"}, "resources": {"cpu": 0.5, "memory": "64MB"}})
    api.apply({"type": "task", "name": "replay-stop", "commands": [SIGTERM_AWARE],
               "resources": {"cpu": 0.5, "memory": "64MB"}})
    api.apply({"type": "service", "name": "replay-scale", "port": 8000, "replicas": "1..3",
               "commands": [SIGTERM_AWARE], "resources": {"cpu": 0.1, "memory": "64MB"}})
    serving = {"type": "service", "name": "replay-scale-b", "port": 8000, "replicas": "1..3",
               "commands": [HTTP_SERVER], "resources": {"cpu": 0.1, "memory": "64MB"}}
    api.apply(serving)
    api.wait_for("replay-stop", lambda run: run["status"] == "running", what="running")
    # replay-stop holds half the host, so a run that needs all of it waits for capacity.
    api.apply({"type": "task", "name": "replay-stop-waiting", "commands": ["true"],
               "resources": {"cpu": 1, "memory": "64MB"}})
    api.wait_for("replay-stop-waiting", lambda run: "waiting for capacity" in run["status_message"],
                 what="waiting for capacity")
    api.ok("runs/stop", {"runs_names": ["replay-stop-waiting"]})
    api.wait_finished("replay-stop-waiting")
    api.ok("runs/stop", {"runs_names": ["replay-stop"]})
    api.wait_for("replay-scale", lambda run: run["running_replicas"] == 1, what="1 running")
    api.ok("runs/scale", {"runs_names": ["replay-scale"], "replicas": 3})
    api.wait_for("replay-scale", lambda run: run["running_replicas"] == 3, what="3 running")
    api.ok("runs/scale", {"runs_names": ["replay-scale", "replay-scale-b"], "replicas": 1})  # signals
    api.wait_for("replay-scale", lambda run: run["running_replicas"] == 1, what="back to 1")
    # A rolling update (its replica answers on its port, so it becomes ready) of replay-scale-b.
    api.wait_for("replay-scale-b", lambda run: run["jobs"][0]["job_submissions"][-1]["ready"], what="ready")
    api.ok("runs/apply", {"run_spec": {"configuration": {**serving, "env": {"DEPLOYMENT": "2"}}}})
    api.wait_for("replay-scale-b", lambda run: any(
        event["message"] == "rolling update to deployment 1 done" for event in run["events"]),
        timeout=90, what="rolled out")
    api.ok("runs/stop", {"runs_names": ["replay-scale", "replay-scale-b"]})
    names = ("replay-done", "replay-retry", "replay-stop", "replay-stop-waiting", "replay-scale", "replay-scale-b")
    runs = [api.wait_finished(name) for name in names]

    client = await connect(temporal.address, "default")
    histories = [await client.get_workflow_handle(run["workflow_id"]).fetch_history() for run in runs]
    assert await replay(histories) == len(names)

    record_to = os.environ.get("DURASTACK_RECORD_HISTORIES")
    if record_to and database_kind == "sqlite":
        for run, history in zip(runs, histories, strict=True):
            Path(record_to, f"{run['run_name']}.json").write_text(history.to_json())  # noqa: ASYNC240
