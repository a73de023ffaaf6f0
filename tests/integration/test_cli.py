"""The CLI as a user runs it: subprocesses talking to a real deployment over HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.support.cleanup import open_to_jobs
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _configurations_reachable_by_jobs(tmp_path: Path) -> None:
    """`apply -f --no-code` runs a job in its file's directory, which jobs with users of their own
    must reach. Without --no-code that directory is uploaded: the deployments' own files in it
    (tmp_path/deployment-N) are none of the runs' code."""
    open_to_jobs(tmp_path)
    (tmp_path / ".durastackignore").write_text("deployment-*/\n")


Deploy = Callable[..., DurastackProcesses]

LINES = "for i in 1 2 3; do echo \"replica $DURASTACK_REPLICA_NUM line $i\"; done"


def durastack(deployment: DurastackProcesses, *args: str, cwd: Path,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return deployment.cli(*args, cwd=cwd, env=env, timeout=60)


def write_yaml(path: Path, configuration: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(configuration))
    return path


def sleeper(name: str) -> dict[str, object]:
    return {"type": "task", "name": name, "commands": ["sleep 60"], "stop_duration": "2s",
            "resources": {"cpu": 0.1, "memory": "16MB"}}


def test_apply_follow_logs_ps_and_delete(deploy: Deploy, tmp_path: Path) -> None:
    deployment = deploy()
    api = deployment.client()
    (tmp_path / "workdir").mkdir()

    # An invalid file is refused locally, naming the file and the field; nothing reaches the server.
    write_yaml(tmp_path / "bad.yml", {"type": "task", "commands": ["true"], "resources": {"memory": "lots"}})
    bad = durastack(deployment, "apply", "-f", "bad.yml", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: bad.yml: resources.memory: 'lots' is not a size")
    assert len(bad.stderr.strip().splitlines()) == 1
    assert api.ok("runs/list", {}) == []

    # A wrong token is one readable line, not a traceback.
    denied = durastack(deployment, "ps", "--token", "not-a-token", cwd=tmp_path)
    assert denied.returncode == 1
    assert denied.stderr.startswith("error: invalid or revoked token")
    assert len(denied.stderr.strip().splitlines()) == 1

    # Follow to the end: every line of both replicas, prefixed; a relative working_dir is in the
    # code the file's directory sent, unpacked in each job's home.
    write_yaml(tmp_path / "numbers.yml", {"type": "task", "name": "numbers", "replicas": 2,
                                          "working_dir": "workdir", "commands": ["pwd", LINES],
                                          "resources": {"cpu": 0.1, "memory": "16MB"}})
    applied = durastack(deployment, "apply", "-f", "numbers.yml", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert applied.stderr.startswith("Uploaded code: ")
    homes = {job["replica_num"]: deployment.workspaces / job["job_submissions"][-1]["id"]
             for job in api.get("numbers")["jobs"]}
    for replica in (0, 1):
        mine = [line for line in applied.stdout.splitlines() if line.startswith(f"[{replica}] ")]
        assert mine == [f"[{replica}] {homes[replica] / 'workdir'}",
                        *(f"[{replica}] replica {replica} line {i}" for i in (1, 2, 3))]
    assert applied.stderr.splitlines()[-1] == "numbers: done"

    logs = durastack(deployment, "logs", "numbers", cwd=tmp_path)
    assert (logs.returncode, logs.stdout.splitlines()) == (0, [str(homes[0] / "workdir"),
                                                              *(f"replica 0 line {i}" for i in (1, 2, 3))])
    replica_1 = durastack(deployment, "logs", "numbers", "--replica", "1", "--follow", cwd=tmp_path)
    assert replica_1.stdout.splitlines()[1:] == [f"replica 1 line {i}" for i in (1, 2, 3)]
    missing = durastack(deployment, "logs", "nosuch", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (1, "error: run nosuch not found in project main\n")

    # Settings from the config file alone.
    config = write_yaml(tmp_path / "config.yml", {"url": deployment.url, "token": deployment.token})
    environment = {key: value for key, value in deployment.env.items() if not key.startswith("DURASTACK_")}
    for ps_args in (["ps"], ["ps", "-a"]):
        listed = durastack(deployment, *ps_args, cwd=tmp_path, env={**environment, "DURASTACK_CONFIG": str(config)})
        assert listed.returncode == 0, listed.stderr
        (row,) = [line.split() for line in listed.stdout.splitlines() if line.startswith("numbers")]
        assert row[:3] == ["numbers", "done", "0/2"]
        assert "replica=1 submission=0" in listed.stdout

    unconfigured = durastack(deployment, "ps", cwd=tmp_path, env={**environment, "HOME": str(tmp_path)})
    assert unconfigured.returncode == 2
    assert unconfigured.stderr.startswith("error: no server url or token configured")

    deleted = durastack(deployment, "delete", "numbers", "-y", cwd=tmp_path)
    assert (deleted.returncode, deleted.stdout) == (0, "numbers: deleted\n")
    assert "numbers" not in durastack(deployment, "ps", cwd=tmp_path).stdout
    assert "numbers (deleted)" in durastack(deployment, "ps", "-a", cwd=tmp_path).stdout  # history keeps it


def test_detach_stop_and_interrupt(deploy: Deploy, tmp_path: Path) -> None:
    deployment = deploy()
    api = deployment.client()
    write_yaml(tmp_path / "sleep.yml", sleeper("sleeper"))

    started = time.monotonic()
    for name in ("one", "two"):
        detached = durastack(deployment, "apply", "-f", "sleep.yml", "-d", "--name", name, cwd=tmp_path)
        assert (detached.returncode, detached.stdout) == (0, f"{name}\n"), detached.stderr
    assert time.monotonic() - started < 10
    for name in ("one", "two"):
        api.wait_for(name, lambda run: run["status"] == "running", what="running")

    # No terminal to confirm on and no -y: nothing is stopped.
    refused = durastack(deployment, "stop", "one", "two", cwd=tmp_path)
    assert refused.returncode == 1
    assert "pass -y" in refused.stderr
    assert api.get("one")["status"] == "running"

    stopped = durastack(deployment, "stop", "one", "two", "-y", cwd=tmp_path)
    assert (stopped.returncode, sorted(stopped.stdout.splitlines())) == (0, ["one: stopping", "two: stopping"])
    for name in ("one", "two"):
        run = api.wait_finished(name)
        assert (run["status"], run["termination_reason"]) == ("terminated", "stopped_by_user")
    again = durastack(deployment, "stop", "one", "nosuch", "-y", cwd=tmp_path)
    assert again.returncode == 1
    assert sorted(again.stdout.splitlines()) == ["nosuch: not_found", "one: already_finished"]

    # Ctrl+C while following: without a terminal it only detaches; with -y it stops the run.
    for name, extra in (("kept", []), ("ended", ["-y"])):
        follower = subprocess.Popen([sys.executable, "-m", "cli.main", "apply", "-f", "sleep.yml", "--name", name,
                                     *extra], cwd=tmp_path, env={**deployment.env, "PYTHONFAULTHANDLER": "1"},
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert follower.stderr is not None
        for line in follower.stderr:
            if line.strip() == f"{name}: running":
                break
        follower.send_signal(signal.SIGINT)
        try:
            stdout, stderr = follower.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            follower.send_signal(signal.SIGABRT)  # the fault handler prints where every thread is
            stdout, stderr = follower.communicate(timeout=30)
            pytest.fail(f"apply --name {name} ignored Ctrl+C for 30 s; stdout={stdout!r}\n{stderr}")
        assert follower.returncode == 0, stderr
        assert stdout == ("" if name == "kept" else f"{name}: stopping\n")
    assert api.get("kept")["status"] == "running"
    assert api.wait_finished("ended")["termination_reason"] == "stopped_by_user"
    durastack(deployment, "stop", "kept", "-x", "-y", cwd=tmp_path)
    assert api.wait_finished("kept")["termination_reason"] == "aborted_by_user"



def stats_rows(deployment: DurastackProcesses, run_name: str, cwd: Path) -> list[list[str]]:
    shown = durastack(deployment, "stats", run_name, cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    header, *rows = shown.stdout.splitlines()
    assert header.split() == ["REPLICA", "SUBMISSION", "STATUS", "CPU", "%", "MEMORY"]
    return [row.split() for row in rows if row.strip()]


def test_scale_and_stats(deploy: Deploy, tmp_path: Path) -> None:
    deployment = deploy()
    api = deployment.client()
    api.apply({"type": "service", "name": "web", "port": 8000, "replicas": "1..3", "commands": ["sleep 600"],
               "stop_duration": "1s", "resources": {"cpu": 0.1, "memory": "16MB"}})

    def running(count: int) -> None:
        api.wait_for("web", lambda run: [job["job_submissions"][-1]["status"] for job in run["jobs"]].count(
            "running") == count, what=f"{count} replicas running")

    running(1)
    scaled = durastack(deployment, "scale", "web", "2", cwd=tmp_path)
    assert (scaled.returncode, scaled.stdout, scaled.stderr) == (0, "web: scaled\n", "")
    running(2)
    # One row per running replica; CPU and memory once the replica has been sampled.
    assert [row[:3] for row in stats_rows(deployment, "web", tmp_path)] == [["0", "0", "running"],
                                                                            ["1", "0", "running"]]
    api.wait_for("web", lambda _: all(row[3] != "-" for row in stats_rows(deployment, "web", tmp_path)),
                 timeout=15, what="both replicas sampled")
    assert all(row[4].endswith(("KB", "MB")) for row in stats_rows(deployment, "web", tmp_path))

    # Outside the service's range: refused as a whole, naming the range; nothing changes.
    refused = durastack(deployment, "scale", "web", "5", "-y", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == "error: replicas: run web: replicas must be within 1..3 for this service, not 5\n"
    assert api.get("web")["desired_replicas"] == 2

    # One request for several names: an unknown one fails the exit code, the known one scales.
    batch = durastack(deployment, "scale", "web", "nosuch", "1", cwd=tmp_path)
    assert batch.returncode == 1
    assert sorted(batch.stdout.splitlines()) == ["nosuch: not_found", "web: scaled"]
    # The scaled-down replica leaves the stats once it no longer runs.
    api.wait_for("web", lambda _: len(stats_rows(deployment, "web", tmp_path)) == 1, what="one replica in stats")

    durastack(deployment, "stop", "web", "-x", "-y", cwd=tmp_path)
    api.wait_finished("web")
    finished = durastack(deployment, "stats", "web", cwd=tmp_path)
    assert finished.returncode == 0
    assert finished.stdout.split() == ["REPLICA", "SUBMISSION", "STATUS", "CPU", "%", "MEMORY"]
    assert finished.stderr == "web: terminated; no replica is running\n"
    missing = durastack(deployment, "stats", "nosuch", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (1, "error: run nosuch not found in project main\n")
