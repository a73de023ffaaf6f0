"""Fleet configurations, as the CLI reads them and the server takes them, and what an SSH fleet
sends to its hosts (the worker's environment, the Python check, the wheel of durastack)."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from base64 import urlsafe_b64encode
from pathlib import Path
from typing import Any

import pytest
import yaml

from activities.durastack_wheel import durastack_wheel
from activities.remote_worker import environment_file, python_version_problem
from cli.fleet_apply import load_fleet_configuration
from core.configuration import ConfigurationError
from core.fleet_configuration import configuration_type, parse_fleet_configuration
from core.statuses import HostState, InstanceStatus
from store.fleets import instance_status


def fleet(**ssh: Any) -> dict[str, Any]:
    return {"type": "fleet", "name": "gpus", "ssh_config": {"user": "ubuntu", "identity_file": "~/.ssh/id", **ssh}}


@pytest.mark.parametrize(("configuration", "field", "message"), [
    (fleet(hosts=[]), "ssh_config.hosts", "a fleet needs at least one host"),
    (fleet(), "ssh_config.hosts", "Field required"),
    (fleet(hosts=["10.0.0.2"], port=0), "ssh_config.port", "Input should be greater than or equal to 1"),
    (fleet(hosts=[{"hostname": "10.0.0.2", "port": "ssh"}]), "ssh_config.hosts.0.port", "Input should be a valid"),
    (fleet(hosts=["10.0.0.2 -oProxyCommand=x"]), "ssh_config.hosts.0.hostname", "is not a hostname or an IP"),
    (fleet(hosts=["a", "b", {"hostname": "a", "port": 22}]), "ssh_config.hosts.2.hostname",
     "a port 22 is listed twice (also hosts.0)"),
    ({**fleet(hosts=["a"]), "ssh_config": {"identity_file": "k", "hosts": ["a"]}}, "ssh_config.hosts.0.user",
     "required: give user here or in ssh_config"),
    ({**fleet(hosts=["a"]), "ssh_config": {"user": "u", "hosts": ["a"]}}, "ssh_config.hosts.0.identity_file",
     "required: give identity_file here or in ssh_config"),
    ({**fleet(hosts=["a"]), "name": "GPUs"}, "name", "String should match pattern"),
    ({**fleet(hosts=["a"]), "replicas": 2}, "replicas", "unknown field"),
])
def test_bad_fleets_are_refused_naming_the_field(configuration: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_fleet_configuration(configuration, keys_inline=False)
    assert refused.value.field == field
    assert message in refused.value.message


def test_hosts_inherit_what_they_dont_set_and_keys_are_never_shown() -> None:
    configuration = parse_fleet_configuration({"type": "fleet", "name": "gpus", "ssh_config": {
        "user": "ubuntu", "ssh_key": {"private": "KEY"}, "hosts": [
            "10.0.0.2", {"hostname": "10.0.0.3", "port": 2222, "user": "root", "ssh_key": {"private": "OTHER"}}]}})
    assert [(host.hostname, host.port, host.user, host.private_key) for host in configuration.hosts()] == [
        ("10.0.0.2", 22, "ubuntu", "KEY"), ("10.0.0.3", 2222, "root", "OTHER")]
    assert "KEY" not in repr(configuration.hosts())
    assert "KEY" not in str(configuration.without_keys()) and "OTHER" not in str(configuration.without_keys())


def test_the_server_takes_keys_as_text_only() -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_fleet_configuration(fleet(hosts=["a"]))
    assert refused.value.field == "ssh_config.identity_file"
    assert "the server can't read files" in refused.value.message


def test_the_cli_sends_each_identity_file_as_text_relative_to_the_fleet_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "shared").write_text("SHARED KEY\n")
    (tmp_path / "own").write_text("OWN KEY\n")
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump({"type": "fleet", "name": "gpus", "ssh_config": {
        "user": "ubuntu", "identity_file": "keys/shared",
        "hosts": ["10.0.0.2", {"hostname": "10.0.0.3", "identity_file": str(tmp_path / "own")}]}}))
    sent = load_fleet_configuration(path, name="renamed")
    assert sent["name"] == "renamed"
    assert sent["ssh_config"]["ssh_key"] == {"private": "SHARED KEY\n"}
    assert sent["ssh_config"]["hosts"] == ["10.0.0.2", {"hostname": "10.0.0.3", "ssh_key": {"private": "OWN KEY\n"}}]
    assert "identity_file" not in str(sent)

    path.write_text(yaml.safe_dump(fleet(hosts=["a"], identity_file="missing")))
    with pytest.raises(ConfigurationError) as refused:
        load_fleet_configuration(path, name=None)
    assert refused.value.field == "ssh_config.identity_file"
    assert str(tmp_path / "missing") in refused.value.message


def test_apply_tells_fleets_from_runs_by_type() -> None:
    assert configuration_type("type: fleet\nname: x\n") == "fleet"
    assert configuration_type("type: task\n") == "task"
    assert configuration_type("[1, 2") is None
    assert configuration_type("- a list") is None


@pytest.mark.parametrize(("output", "problem"), [
    ("Python 3.11.2\n", None),
    ("Python 3.13.0\n", None),
    ("Python 3.9.2\n", "python3 on the host is Python 3.9.2; durastack needs Python 3.11 or later"),
    ("Python 2.7.18\n", "python3 on the host is Python 2.7.18; durastack needs Python 3.11 or later"),
    ("sh: 1: python3: not found\n", "python3 is missing on the host (`python3 --version` said: "
                                    "sh: 1: python3: not found)"),
])
def test_hosts_need_python_3_11(output: str, problem: str | None) -> None:
    assert python_version_problem(output) == problem


def test_the_worker_environment_file_reads_back_exactly_in_sh(tmp_path: Path) -> None:
    values = {"DATABASE_URL": "postgresql://u:p'a ss$word@db/x", "DURASTACK_FLEET": "gpus"}
    (tmp_path / "worker.env").write_text(environment_file(values))
    shown = subprocess.run(["sh", "-c", 'set -a; . ./worker.env; printf "%s|%s" "$DATABASE_URL" "$DURASTACK_FLEET"'],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert shown == "postgresql://u:p'a ss$word@db/x|gpus"


def test_the_wheel_of_durastack_holds_its_packages_and_a_valid_record(tmp_path: Path) -> None:
    wheel = durastack_wheel(tmp_path)
    assert durastack_wheel(tmp_path) == wheel  # built once per content
    with zipfile.ZipFile(wheel.path) as archive:
        names = set(archive.namelist())
        assert {"workflows/fleet_workflow.py", "store/alembic.ini", "cli/main.py"} <= names
        assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        assert "Name: durastack" in archive.read(f"{dist_info}/METADATA").decode()
        for line in archive.read(f"{dist_info}/RECORD").decode().splitlines():
            name, digest, size = line.split(",")
            if digest:
                data = archive.read(name)
                expected = urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert (digest, int(size)) == (f"sha256={expected}", len(data)), name


@pytest.mark.parametrize(("state", "holds_jobs", "status"), [
    (HostState.PROVISIONING, False, InstanceStatus.PROVISIONING),
    (HostState.ACTIVE, False, InstanceStatus.IDLE),
    (HostState.ACTIVE, True, InstanceStatus.BUSY),
    (HostState.UNREACHABLE, True, InstanceStatus.UNREACHABLE),
    (HostState.TERMINATING, True, InstanceStatus.TERMINATING),
    (HostState.TERMINATED, False, InstanceStatus.TERMINATED),
])
def test_instance_statuses_derive_from_the_host(state: HostState, holds_jobs: bool, status: InstanceStatus) -> None:
    assert instance_status(state, holds_jobs=holds_jobs) is status
