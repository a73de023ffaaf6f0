"""Several hosts on one database and one Temporal server, as real `durastack worker` processes:
replicas spread by free capacity, runs keep to the fleets they name, and a host that dies never
wedges a run (its replicas end within the liveness bound and are placed again; a stop doesn't
wait on it). PostgreSQL, as a multi-host deployment needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.code_upload import pack_directory
from tests.support.cleanup import job_workspaces
from tests.support.durastack import REPO, ApiClient, DurastackProcesses

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database_kind", ["postgres"], indirect=True)]

Deploy = Callable[..., DurastackProcesses]
FOREVER = 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.5; done'
# worker/host_liveness.py: silent for 30 s is unreachable, looked at every 5 s; then one workflow
# task and a release. The test allows a margin for a 2-core machine running all of it.
LOSS_BOUND_SECONDS = 60


def task(name: str, cpu: float, *, replicas: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "task", "name": name, "commands": [FOREVER], "replicas": replicas,
            "resources": {"cpu": cpu, "memory": "64MB"}, "stop_duration": "1s", **extra}


def live_hosts(run: dict[str, Any]) -> list[str]:
    return [job["job_submissions"][-1]["host_id"] for job in run["jobs"]
            if job["job_submissions"][-1]["status"] == "running"]


def test_replicas_spread_by_capacity_and_keep_to_their_fleets(deploy: Deploy) -> None:
    """The split deployment: two API processes, and worker processes as hosts."""
    deployment = deploy(cpus=0.5)  # its own host holds nothing of these
    deployment.add_host("host-a", cpus=2)
    deployment.add_host("host-b", cpus=2)
    deployment.add_host("edge-1", cpus=1, fleet="edge")
    api, other_api = deployment.client(), deployment.add_api()

    api.apply(task("spread", 1, replicas=4, fleets=["local"]))
    run = api.wait_for("spread", lambda run: len(live_hosts(run)) == 4, timeout=90, what="4 running")
    assert Counter(live_hosts(run)) == {"host-a": 2, "host-b": 2}
    submission = run["jobs"][0]["job_submissions"][-1]
    assert submission["host"] != submission["host_id"]  # a display name, and the unique id

    api.apply(task("edge-only", 0.5, fleets=["edge"]))
    run = api.wait_for("edge-only", lambda run: len(live_hosts(run)) == 1, timeout=60, what="running")
    assert live_hosts(run) == ["edge-1"]

    api.apply(task("nowhere", 0.5, fleets=["no-such-fleet"]))
    failed = api.wait_finished("nowhere")
    (job,) = failed["jobs"]
    assert job["job_submissions"][-1]["termination_reason"] == "failed_to_start_due_to_no_capacity"
    assert "no fleet named no-such-fleet" in job["job_submissions"][-1]["status_message"]
    # The other API process sees and stops what the first one started.
    assert {run["run_name"] for run in other_api.ok("runs/list", {"only_active": True})} == {"spread", "edge-only"}
    other_api.ok("runs/stop", {"runs_names": ["spread", "edge-only"]})
    assert {api.wait_finished(name)["status"] for name in ("spread", "edge-only")} == {"terminated"}


def test_a_lost_host_ends_its_replicas_which_move_and_a_stop_never_waits_on_it(deploy: Deploy) -> None:
    deployment = deploy(cpus=0.5)
    doomed_host = deployment.add_host("host-b", cpus=2)
    deployment.add_host("host-c", cpus=1, memory="2GB")
    api = deployment.client()
    # Both land on host-b (most free; ties go to the first host), and only host-c can take one back.
    api.apply(task("movable", 1, retry={"on_events": ["interruption"], "duration": "1h"}))
    api.wait_for("movable", lambda run: live_hosts(run) == ["host-b"], timeout=60, what="running on host-b")
    api.apply(task("stopped", 0.5))
    api.wait_for("stopped", lambda run: live_hosts(run) == ["host-b"], timeout=60, what="running on host-b")

    doomed_host.kill()  # the machine is gone: its worker and its jobs
    lost_at = time.monotonic()
    api.ok("runs/stop", {"runs_names": ["stopped"]})
    moved = api.wait_for("movable", lambda run: live_hosts(run) == ["host-c"], timeout=LOSS_BOUND_SECONDS + 30,
                         what="placed again on host-c")
    took = time.monotonic() - lost_at
    assert took < LOSS_BOUND_SECONDS, f"re-placed {took:.0f}s after the host was lost"
    first, second = moved["jobs"][0]["job_submissions"]
    assert (first["status"], first["termination_reason"]) == ("failed", "instance_unreachable")
    assert "(host-b) stopped answering" in first["status_message"]
    assert second["host_id"] == "host-c"
    stopped = api.wait_finished("stopped", timeout=30)
    assert stopped["status"] == "terminated"
    assert stopped["jobs"][0]["job_submissions"][-1]["termination_reason"] == "instance_unreachable"
    api.ok("runs/stop", {"runs_names": ["movable"], "abort": True})
    api.wait_finished("movable")


def test_a_host_that_restarts_reattaches_its_live_replicas_without_duplicates(deploy: Deploy) -> None:
    deployment = deploy(cpus=0.5)
    host = deployment.add_host("host-b", cpus=2)
    api: ApiClient = deployment.client()
    api.apply(task("steady", 1))
    api.wait_for("steady", lambda run: live_hosts(run) == ["host-b"], timeout=60, what="running on host-b")
    host.kill(with_jobs=False)  # its worker dies; the job lives on
    host.start()
    before = len(api.logs("steady", 0))
    run = api.wait_for("steady", lambda run: len(api.logs("steady", 0)) > before + 5, timeout=120,
                       what="lines shipped again by the restarted host")
    (job,) = run["jobs"]
    (submission,) = job["job_submissions"]  # the same submission: never started twice
    assert submission["status"] == "running" and submission["host_id"] == "host-b"
    lines = [line["message"] for line in api.logs("steady", 0)]
    assert lines == [f"line {i}" for i in range(len(lines))]  # none lost, none twice
    api.ok("runs/stop", {"runs_names": ["steady"]})
    api.wait_finished("steady")


def test_uploaded_code_runs_on_the_host_that_takes_the_replica(deploy: Deploy, tmp_path: Path) -> None:
    """The CLI uploads the configuration's directory to the server; another host, whose jobs'
    homes are in a directory of its own, fetches it and runs the replica in its copy."""
    deployment = deploy(cpus=0.5)
    elsewhere = job_workspaces()
    try:
        deployment.add_host("remote", cpus=2, fleet="remote", env={"DURASTACK_WORKSPACES_DIR": str(elsewhere)})
        project = tmp_path / "project"
        (project / "src").mkdir(parents=True)
        (project / "data.txt").write_text("uploaded with the run\n")
        (project / "run.yml").write_text(yaml.safe_dump({
            "type": "task", "name": "travels", "fleets": ["remote"], "working_dir": "src",
            "commands": ["pwd", "cat ../data.txt"], "resources": {"cpu": 0.5, "memory": "64MB"}}))
        applied = subprocess.run([sys.executable, "-m", "cli.main", "apply", "-f", str(project / "run.yml")],
                                 cwd=REPO, env=deployment.env, stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=120)
        assert applied.returncode == 0, applied.stderr
        api = deployment.client()
        run = api.get("travels")
        submission = run["jobs"][0]["job_submissions"][-1]
        assert (run["status"], submission["host_id"]) == ("done", "remote")
        assert [line["message"] for line in api.logs("travels", 0)] == [
            str(elsewhere / submission["id"] / "src"), "uploaded with the run"]
        # Fetched by the host that ran it, into its own state directory; the first host never needed it.
        archive = f"{pack_directory(project).hash}.tar.gz"
        assert (deployment.directory / "remote" / "code" / archive).is_file()
        assert not (deployment.directory / "server" / "code" / archive).exists()
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
