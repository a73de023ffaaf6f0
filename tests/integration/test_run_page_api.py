"""What a run's page reads from the API: the configuration as it was submitted (its YAML text), the
code it took along, and a failed run's status message naming what failed; and a service the CLI
applied, submitted again from the web UI, being no change."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.configuration import MAX_CONFIGURATION_YAML_CHARS
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

SMALL = {"cpu": 0.1, "memory": "16MB"}
# What a person writes: a comment, keys in their own order, a `|` block, a number for an env value.
WRITTEN = """\
# the configuration as written
name: {name}
type: task
resources: {{cpu: 0.1, memory: 16MB}}
env:
  WORKERS: 4
commands:
  - |
    echo one
    echo two
stop_duration: 1s
"""


def spec(text: str, **extra: Any) -> dict[str, Any]:
    return {"run_spec": {"configuration": yaml.safe_load(text), "configuration_yaml": text, **extra}}


def test_a_run_keeps_the_yaml_it_was_submitted_as(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"yaml-{uuid.uuid4().hex[:6]}"
    text = WRITTEN.format(name=name)
    applied = api.ok("runs/apply", spec(text))
    assert applied["configuration_yaml"] == text
    finished = api.wait_finished(name)
    assert finished["status"] == "done"
    assert finished["configuration_yaml"] == text  # verbatim: comment, order, block, 4 unquoted
    assert finished["configuration"]["env"] == {"WORKERS": "4"}  # what the server reads it as
    assert api.get(run_id=applied["id"])["configuration_yaml"] == text
    # Lists stay light: they don't carry the text.
    [listed] = api.ok("runs/list", {"run_name": name})
    assert listed["configuration_yaml"] is None

    # A run submitted without its text has none; the UI renders `configuration` then.
    other = api.apply({"type": "task", "name": f"{name}-x", "commands": ["true"], "resources": SMALL})
    assert other["configuration_yaml"] is None


@pytest.mark.parametrize(("text", "message"), [
    ("type: task\ncommands: [echo other]\nresources: {cpu: 0.1, memory: 16MB}\n",
     "it does not parse to run_spec.configuration (they differ in: commands)"),
    ("type: task\ncommands: [\n", "not valid YAML at line"),
    ("#" * (MAX_CONFIGURATION_YAML_CHARS + 1), f"at most {MAX_CONFIGURATION_YAML_CHARS} characters"),
], ids=["another-configuration", "not-yaml", "too-long"])
def test_the_text_must_say_what_runs(deployment: DurastackProcesses, text: str, message: str) -> None:
    api = deployment.client()
    body = {"run_spec": {"configuration": {"type": "task", "commands": ["echo"], "resources": SMALL},
                         "configuration_yaml": text}}
    for path in ("runs/get_plan", "runs/apply"):
        refused = api.post(path, body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "run_spec.configuration_yaml"
        assert message in refused.json()["detail"], refused.json()["detail"]


def test_a_failed_run_says_which_replica_failed_and_its_exit_code(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"fails-{uuid.uuid4().hex[:6]}"
    api.apply({"type": "task", "name": name, "replicas": 2, "resources": SMALL, "stop_duration": "1s",
               "commands": ['if [ "$DURASTACK_REPLICA_NUM" = 1 ]; then exit 3; fi; sleep 300']})
    run = api.wait_finished(name)
    assert (run["status"], run["termination_reason"]) == ("failed", "job_failed")
    assert run["status_message"] == "replica 1 failed: exit code 3"
    [listed] = api.ok("runs/list", {"run_name": name})
    assert listed["status_message"] == "replica 1 failed: exit code 3"
    assert run["jobs"][1]["job_submissions"][-1]["exit_code"] == 3


def test_a_service_the_cli_applied_is_no_change_when_the_ui_sends_it_again(deployment: DurastackProcesses,
                                                                       tmp_path: Path) -> None:
    api = deployment.client()
    name = f"cli-svc-{uuid.uuid4().hex[:6]}"
    text = (f"type: service\nname: {name}\nport: 8000\nreplicas: 1..2\nresources: {{cpu: 0.1, memory: 16MB}}\n"
            "stop_duration: 1s\ncommands:\n  - python3 -m http.server $PORT\n")
    (tmp_path / "web.yml").write_text(text)
    applied = deployment.cli("apply", "-f", str(tmp_path / "web.yml"), "-d", "-y")
    assert applied.returncode == 0, applied.stderr
    run = api.wait_for(name, lambda current: current["running_replicas"] == 1, what="running")
    # The CLI sent the file as written and its directory as code; it made up no working_dir.
    assert run["configuration_yaml"] == text
    assert "working_dir" not in run["configuration"]
    assert run["repo_code_hash"] is not None

    # The web UI sends the same text and keeps the run's code (it uploads none): nothing to do.
    plan = api.ok("runs/get_plan", spec(text, repo_code_hash=run["repo_code_hash"]))
    assert (plan["action"], plan["changes"]) == ("no_change", [])
    # Without the code, the replicas would lose it: that is a change, and the plan says so.
    assert api.ok("runs/get_plan", spec(text))["changes"] == [
        {"field": "repo_code_hash", "old": run["repo_code_hash"], "new": None}]

    # Updated in place (replicas), the run shows the text it now runs.
    scaled = text.replace("replicas: 1..2", "replicas: 2")
    assert api.ok("runs/get_plan", spec(scaled, repo_code_hash=run["repo_code_hash"]))["action"] == "update"
    updated = api.ok("runs/apply", spec(scaled, repo_code_hash=run["repo_code_hash"]))
    assert updated["id"] == run["id"]
    assert api.get(run_id=run["id"])["configuration_yaml"] == scaled
    api.ok("runs/stop", {"runs_names": [run["id"]], "abort": True})
    api.wait_finished(name)
