"""Stateful property test: random scale, stop and abort, with replicas that also exit on
their own. The query never shows `running` for a replica whose process is gone, no status
moves backwards, and the run ends as a simple model says."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from backends.local.compute import LocalCompute
from backends.local.config import LocalConfig
from core.statuses import JobStatus
from tests.support.cleanup import open_to_jobs
from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

UNSETTLED = {"submitted", "provisioning", "pulling", "terminating"}
# Each replica runs until the test creates its exit file, then exits 0 on its own.
WAIT_FOR_EXIT_FILE = ('while [ ! -e "$EXIT_DIR/$DURASTACK_RUN_ID-$DURASTACK_REPLICA_NUM-$DURASTACK_SUBMISSION_NUM" ];'
                      ' do sleep 0.05; done')


def current(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [job["job_submissions"][-1] for job in run["jobs"]]


class ServiceModel(RuleBasedStateMachine):
    api: ClassVar[ApiClient]
    jobs: ClassVar[LocalCompute]
    exit_dir: ClassVar[Path]
    names: ClassVar[itertools.count[int]] = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.name = f"prop-{next(self.names)}"
        self.run_id = self.api.apply({
            "type": "service", "name": self.name, "port": 8000, "replicas": "1..3", "stop_duration": "5s",
            "commands": ["echo up", WAIT_FOR_EXIT_FILE], "env": {"EXIT_DIR": str(self.exit_dir)},
            "resources": {"cpu": 0.1, "memory": "16MB"}})["id"]
        self.live = 1  # replicas the model expects running
        self.desired = 1  # a replica that exits on its own is not replaced
        self.ended: str | None = None  # the run's final status, once the model says it ended
        self.ranks: dict[str, int] = {}
        self.run = self.settle()
        self.steps = 0

    # -- rules ----------------------------------------------------------------------------------

    @rule(replicas=st.integers(min_value=1, max_value=3))
    def scale(self, replicas: int) -> None:
        (result,) = self.api.ok("runs/scale", {"runs_names": [self.name], "replicas": replicas})["results"]
        if self.ended:
            assert result["outcome"] == "already_finished"
        else:
            assert result["outcome"] == "scaled", result
            self.live = self.desired = replicas
        self.run = self.settle()

    # Ending the run early makes the rest of a sequence trivial, so the rules that can end it
    # wait for a few steps (exits only once more than one replica runs).
    @precondition(lambda self: self.steps >= 4)
    @rule(abort=st.booleans())
    def stop(self, abort: bool) -> None:
        (result,) = self.api.ok("runs/stop", {"runs_names": [self.name], "abort": abort})["results"]
        assert result["outcome"] == ("already_finished" if self.ended else "stopping")
        if not self.ended:
            self.live, self.ended = 0, "terminated"
        self.run = self.settle()

    @precondition(lambda self: self.live > 1 or self.steps >= 4)
    @rule(data=st.data())
    def a_replica_exits_on_its_own(self, data: st.DataObject) -> None:
        running = [s for s in current(self.run) if s["status"] == "running"]
        if not running:
            return
        submission = data.draw(st.sampled_from(running))
        replica_num = next(job["replica_num"] for job in self.run["jobs"] if job["job_submissions"][-1] is submission)
        (self.exit_dir / f"{self.run_id}-{replica_num}-{submission['submission_num']}").touch()
        self.live -= 1
        if self.live == 0:
            self.ended = "done"  # every replica ended on its own
        self.run = self.settle()

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def statuses_never_move_backwards(self) -> None:
        for job in self.run["jobs"]:
            for submission in job["job_submissions"]:
                rank = JobStatus(submission["status"]).rank
                assert rank >= self.ranks.get(submission["id"], 0), submission
                self.ranks[submission["id"]] = rank

    @invariant()
    def running_means_a_live_process(self) -> None:
        for submission in current(self.run):
            if submission["status"] == "running":
                assert self.jobs.job_exit(submission["id"]) is None, f"{submission['id']} is gone"

    @invariant()
    def the_run_matches_the_model(self) -> None:
        assert self.run["running_replicas"] == self.live
        if self.ended:
            assert self.run["status"] == self.ended
        else:
            assert self.run["status"] == "running" and self.run["desired_replicas"] == self.desired

    def teardown(self) -> None:
        self.api.post("runs/stop", {"runs_names": [self.name], "abort": True})

    # -- helpers --------------------------------------------------------------------------------

    def settle(self, timeout: float = 30) -> dict[str, Any]:
        """The run once nothing is in flight and it shows what the model expects."""
        self.steps = getattr(self, "steps", 0) + 1
        deadline = time.monotonic() + timeout
        while True:
            run = self.api.get(self.name)
            quiet = not any(s["status"] in UNSETTLED for s in current(run))
            expected = run["status"] == self.ended if self.ended else run["running_replicas"] == self.live
            if quiet and expected:
                return run
            assert time.monotonic() < deadline, f"never settled: model live={self.live} ended={self.ended}; {run}"
            time.sleep(0.05)


@pytest.mark.timeout(600)
def test_replica_status_never_lies(deploy: Callable[..., DurastackProcesses], tmp_path: Path) -> None:
    deployment = deploy()
    ServiceModel.api = deployment.client()
    ServiceModel.jobs = LocalCompute(LocalConfig(jobs_dir=deployment.directory / "server" / "jobs",
                                                 workspaces_dir=deployment.workspaces))
    ServiceModel.exit_dir = open_to_jobs(tmp_path) / "exits"  # the jobs wait for files here
    ServiceModel.exit_dir.mkdir()
    run_state_machine_as_test(ServiceModel, settings=settings(
        max_examples=8, stateful_step_count=10, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
