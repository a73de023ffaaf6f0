"""SSH fleets against real hosts: OpenSSH's sshd on 127.0.0.1 (tests/support/sshd.py), a real
Temporal server, PostgreSQL and durastack processes. Applying a fleet installs durastack on the
host over SSH and starts its worker, which joins the fleet; a run that asks for the fleet runs
there; deleting the fleet stops the run, then the worker."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.durastack import ApiClient, DurastackProcesses
from tests.support.sshd import SshHosts, unavailable_reason

pytestmark = pytest.mark.integration

ON_POSTGRES = pytest.mark.parametrize("database_kind", ["postgres"], indirect=True)


@pytest.fixture(scope="module")
def ssh_hosts() -> Iterator[SshHosts]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    hosts = SshHosts()
    hosts.create_user()
    hosts.start_server("python311")
    hosts.start_server("python39", python_version="3.9.2")
    yield hosts
    hosts.close()


def durastack(deployment: DurastackProcesses, *args: str, cwd: Path,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return deployment.cli(*args, cwd=cwd, timeout=timeout)


def fleet_configuration(name: str, ssh_hosts: SshHosts, server: str, **ssh: Any) -> dict[str, Any]:
    return {"type": "fleet", "name": name, "ssh_config": {
        "user": ssh_hosts.user, "hosts": [{"hostname": "127.0.0.1", "port": ssh_hosts.port(server)}], **ssh}}


def wait_for_fleet(api: ApiClient, name: str, condition: Callable[[dict[str, Any]], bool], what: str,
                   timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    fleet: dict[str, Any] = {}
    while time.monotonic() < deadline:
        fleet = api.ok("fleets/get", {"name": name})
        if condition(fleet):
            return fleet
        time.sleep(0.5)
    raise AssertionError(f"fleet {name} never became {what}: {fleet}")


@ON_POSTGRES
def test_an_ssh_fleet_runs_a_job_and_is_deleted(deployment: DurastackProcesses, ssh_hosts: SshHosts,
                                                tmp_path: Path) -> None:
    api = deployment.client()
    name = f"ssh-{uuid.uuid4().hex[:6]}"
    # The key sits beside the file and is named relative to it; the CLI reads it and sends its text.
    (tmp_path / "keys").mkdir()
    shutil.copy(ssh_hosts.key_file, tmp_path / "keys" / "fleet_key")
    (tmp_path / "fleet.yml").write_text(yaml.safe_dump(
        fleet_configuration(name, ssh_hosts, "python311", identity_file="keys/fleet_key")))

    applied = durastack(deployment, "apply", "-f", str(tmp_path / "fleet.yml"), "-y", cwd=deployment.directory,
                        timeout=240)
    assert applied.returncode == 0, applied.stderr + ssh_hosts.worker_logs()
    assert f"{name}: active" in applied.stderr
    assert "idle" in applied.stdout

    fleet = api.ok("fleets/get", {"name": name})
    assert (fleet["type"], fleet["status"], fleet["project_name"]) == ("ssh", "active", "main")
    assert "ssh_key" not in fleet["configuration"]["ssh_config"]  # keys are never sent back
    [instance] = fleet["instances"]
    assert (instance["id"], instance["instance_num"], instance["backend"], instance["status"]) == \
        (f"{name}-0", 0, "ssh", "idle")
    assert instance["resources"]["cpus"] > 0 and instance["last_seen_at"] is not None
    listed = deployment.client().http.post("/api/instances/list", json={"fleet_names": [name]})
    assert [item["id"] for item in listed.json()] == [f"{name}-0"], listed.text
    assert any("durastack worker" in command for command in ssh_hosts.processes()), ssh_hosts.processes()
    table = durastack(deployment, "fleet", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert any(line.split()[:1] == ["0"] and "ssh" in line and "idle" in line
               for line in table.stdout.splitlines()), table.stdout

    # A run that asks for the fleet runs on its host, as the host's login user.
    run_name = f"on-{name}"
    api.apply({"type": "task", "name": run_name, "commands": ["echo started; sleep 300"], "fleets": [name],
               "stop_duration": "2s", "resources": {"cpu": 0.1, "memory": "32MB"}})
    api.wait_for(run_name, lambda run: run["status"] == "running", what="running")
    busy = wait_for_fleet(api, name, lambda fleet: fleet["instances"][0]["status"] == "busy", "busy")
    [job] = busy["instances"][0]["jobs"]
    assert (job["run_name"], job["project_name"]) == (run_name, "main")
    assert busy["instances"][0]["free"]["cpus"] == pytest.approx(instance["resources"]["cpus"] - 0.1)
    assert any(command.startswith("sleep 300") for command in ssh_hosts.processes())

    # Deleting stops the run, then the worker; the fleet and its host end terminated.
    deleted = durastack(deployment, "fleet", "delete", name, "-y", cwd=tmp_path, timeout=120)
    assert deleted.returncode == 0, deleted.stderr
    assert f"{name}: terminating" in deleted.stderr and f"{name}: terminated" in deleted.stderr
    fleet = api.ok("fleets/get", {"name": name})
    assert (fleet["status"], fleet["instances"][0]["status"]) == ("terminated", "terminated"), fleet
    assert api.get(run_name)["status"] == "terminated"
    deadline = time.monotonic() + 10
    while ssh_hosts.processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ssh_hosts.processes() == []
    assert name not in [item["name"] for item in api.ok("fleets/list", {})]  # deleted fleets are not listed


@ON_POSTGRES
def test_a_host_without_python_3_11_fails_with_the_reason(deployment: DurastackProcesses,
                                                           ssh_hosts: SshHosts) -> None:
    api = deployment.client()
    name = f"old-{uuid.uuid4().hex[:6]}"
    configuration = fleet_configuration(name, ssh_hosts, "python39",
                                        ssh_key={"private": ssh_hosts.key_file.read_text()})
    applied = api.ok("fleets/apply", {"spec": {"configuration": configuration}})
    assert (applied["status"], applied["instances"][0]["status"]) == ("submitted", "provisioning")

    fleet = wait_for_fleet(api, name, lambda fleet: fleet["status"] != "submitted", "set up", timeout=60)
    assert fleet["status"] == "failed"
    assert fleet["status_message"] == \
        f"{name}-0: python3 on the host is Python 3.9.2; durastack needs Python 3.11 or later"
    assert fleet["instances"][0]["status"] == "terminated"
    instances = deployment.client().http.post("/api/instances/list", json={"fleet_names": [name]}).json()
    assert instances == []
    instances = deployment.client().http.post("/api/instances/list", json={
        "fleet_names": [name], "include_terminated": True}).json()
    assert [item["status"] for item in instances] == ["terminated"]

    api.ok("fleets/delete", {"names": [name]})
    wait_for_fleet(api, name, lambda fleet: fleet["status"] == "terminated", "terminated", timeout=60)


@ON_POSTGRES
def test_bad_fleet_files_and_requests_are_refused_naming_the_field(deployment: DurastackProcesses,
                                                                   tmp_path: Path) -> None:
    def cli_error(configuration: dict[str, Any]) -> str:
        (tmp_path / "bad.yml").write_text(yaml.safe_dump(configuration))
        result = durastack(deployment, "apply", "-f", "bad.yml", cwd=tmp_path)
        assert result.returncode == 1, result
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr.strip()

    no_hosts = {"type": "fleet", "name": "bad", "ssh_config": {"user": "u", "identity_file": "k", "hosts": []}}
    assert cli_error(no_hosts) == "error: bad.yml: ssh_config.hosts: a fleet needs at least one host"
    bad_port: dict[str, Any] = {"type": "fleet", "name": "bad", "ssh_config": {
        "user": "u", "identity_file": "k", "port": 70000, "hosts": ["127.0.0.1"]}}
    assert cli_error(bad_port) == "error: bad.yml: ssh_config.port: Input should be less than or equal to 65535"
    no_key = {"type": "fleet", "name": "bad", "ssh_config": {"user": "u", "identity_file": "missing",
                                                             "hosts": ["127.0.0.1"]}}
    assert cli_error(no_key).startswith(f"error: bad.yml: ssh_config.identity_file: can't read {tmp_path}/missing")

    api = deployment.client()

    def refusal(configuration: dict[str, Any], status: int = 400) -> dict[str, Any]:
        response = api.post("fleets/apply", {"spec": {"configuration": configuration}})
        assert response.status_code == status, response.text
        return dict(response.json())

    key = {"private": "not a key"}
    answer = refusal({**no_hosts, "ssh_config": {"user": "u", "ssh_key": key, "hosts": []}})
    assert answer["field"] == "spec.configuration.ssh_config.hosts"
    answer = refusal({**bad_port, "ssh_config": {**bad_port["ssh_config"], "identity_file": None, "ssh_key": key}})
    assert (answer["field"], answer["detail"]) == (
        "spec.configuration.ssh_config.port",
        "spec.configuration.ssh_config.port: Input should be less than or equal to 65535")
    answer = refusal(no_key)  # a file name reaches the server: it reads no client's files
    assert answer["field"] == "spec.configuration.ssh_config.identity_file"
    answer = refusal({**no_key, "ssh_config": {"user": "u", "ssh_key": key, "hosts": ["127.0.0.1"]}})
    assert answer["field"] == "spec.configuration.ssh_config.ssh_key.private"
    assert refusal({"type": "fleet"})["field"] == "spec.configuration.name"

    # Deleting a name nobody uses is a 404; a fleet of workers is removed by stopping them.
    missing = api.post("fleets/delete", {"names": ["nobody"]})
    assert (missing.status_code, missing.json()["field"]) == (404, "names")
    workers = api.post("fleets/delete", {"names": ["local"]})
    assert workers.status_code == 409, workers.text
    assert [fleet["name"] for fleet in api.ok("fleets/list", {})] == ["local"]

    # Members may list; only project admins and managers may apply or delete.
    admin = deployment.client().http
    created = admin.post("/api/users/create", json={"username": f"member-{uuid.uuid4().hex[:6]}"})
    assert created.status_code == 200, created.text
    admin.post("/api/projects/main/add_members", json={"members": [
        {"username": created.json()["username"], "project_role": "user"}]}).raise_for_status()
    member = deployment.client(created.json()["token"]["token"])
    assert member.post("fleets/list", {}).status_code == 200
    forbidden = member.post("fleets/apply", {"spec": {"configuration": {**no_key, "ssh_config": {
        "user": "u", "ssh_key": key, "hosts": ["127.0.0.1"]}}}})
    assert forbidden.status_code == 403, forbidden.text
    assert member.post("fleets/delete", {"names": ["local"]}).status_code == 403


@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)
def test_ssh_fleets_are_refused_on_sqlite(deployment: DurastackProcesses) -> None:
    response = deployment.client().post("fleets/apply", {"spec": {"configuration": {
        "type": "fleet", "name": "on-sqlite", "ssh_config": {"user": "u", "ssh_key": {"private": "k"},
                                                            "hosts": ["127.0.0.1"]}}}})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "spec.configuration.ssh_config"
    assert "PostgreSQL" in response.json()["detail"]
