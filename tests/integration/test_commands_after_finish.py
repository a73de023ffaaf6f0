"""A run that `runs/get` shows finished is finished for stop and delete too, even in the moment
before its final projection reaches the database: `runs/get` answers from the workflow, and the
commands ask the workflow too. The final projection is held back by a row lock (PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.cleanup import open_to_jobs
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

SMALL = {"cpu": 0.1, "memory": "16MB"}
HELD_SECONDS = 1.5  # the final projection waits this long; the commands wait up to 5 s for it


@pytest.mark.parametrize("database_kind", ["postgres"], indirect=True)
@pytest.mark.parametrize("command", ["stop", "delete"])
def test_a_run_shown_finished_is_finished_for_stop_and_delete(deploy: Callable[..., DurastackProcesses],
                                                              tmp_path: Path, command: str) -> None:
    deployment = deploy()
    api = deployment.client()
    exit_file = open_to_jobs(tmp_path) / "exit"  # the job waits for it
    run = api.apply({"type": "task", "name": f"ends-{command}", "resources": SMALL,
                     "commands": [f'while [ ! -e "{exit_file}" ]; do sleep 0.05; done']})
    api.wait_for(run["run_name"], lambda current: current["status"] == "running", what="running")
    url = make_url(deployment.env["DATABASE_URL"])
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database) as lock:
        # Until it is running, the projection may still be written (status running) and must not wait here.
        deadline = time.monotonic() + 30
        while lock.execute("SELECT status FROM runs WHERE id = %s", (run["id"],)).fetchone() != ("running",):
            assert time.monotonic() < deadline, "the projection never said running"
            lock.rollback()
            time.sleep(0.05)
        lock.execute("SELECT id FROM runs WHERE id = %s FOR UPDATE", (run["id"],))  # holds every later write
        exit_file.touch()
        shown = api.wait_for(run["run_name"], lambda current: current["status"] == "done", what="done")
        assert shown["source"] == "workflow"
        with ThreadPoolExecutor(1) as pool:
            body = {"runs_names": [run["id"]]}
            answer = pool.submit(api.ok, f"runs/{command}", body)
            time.sleep(HELD_SECONDS)
            lock.rollback()  # the final projection lands now
            (outcome,) = answer.result(timeout=30)["results"]
    assert outcome["outcome"] == ("already_finished" if command == "stop" else "deleted"), outcome
