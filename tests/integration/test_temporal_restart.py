"""The Temporal server stops mid-run and starts again on the same database file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.test_run_lifecycle import numbered_task
from tests.support.durastack import DurastackProcesses
from tests.support.temporal import TemporalDevServer

pytestmark = pytest.mark.integration


def test_run_completes_across_a_temporal_server_restart(tmp_path: Path,
                                                        deploy: Callable[..., DurastackProcesses]) -> None:
    temporal = TemporalDevServer(tmp_path / "own-temporal")
    temporal.start()
    try:
        deployment = deploy(temporal_address=temporal.address)
        api = deployment.client()
        api.apply(numbered_task("durable", n=50, pause=0.1))
        api.wait_for("durable", lambda run: len(api.logs("durable", 0)) >= 5, what="5 lines shipped")

        temporal.stop()
        time.sleep(2)  # the replica keeps printing while no Temporal server exists
        temporal.start()

        run = api.wait_finished("durable", timeout=120)
        assert run["status"] == "done"
        (job,) = run["jobs"]
        assert len(job["job_submissions"]) == 1
        assert [line["message"] for line in api.logs("durable", 0)] == [
            f"replica 0 line {i}" for i in range(1, 51)]
    finally:
        temporal.stop()
