"""`durastack apply -f fleet.yml`: an SSH fleet's configuration, its keys read here and sent as
text (the server never reads the CLI's files), then the fleet followed until its hosts are set up."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import yaml

from api.fleet_schemas import Fleet
from cli.api_client import ApiClient
from cli.client_command import EXIT_FAILURE, confirm, stdin_is_terminal, with_client
from cli.fleet_client import FleetClient
from cli.fleet_output import fleet_status_text, fleets_table, instance_label, is_settled
from cli.output import print_error, print_line, stdout_console
from core.configuration import ConfigurationError
from core.fleet_configuration import parse_fleet_configuration
from core.statuses import FleetStatus

POLL_SECONDS = 1.0


def apply_fleet(args: argparse.Namespace) -> int:
    try:
        configuration = load_fleet_configuration(args.file, args.name)
    except ConfigurationError as error:
        print_error(f"{args.file}: {error}")
        return EXIT_FAILURE
    return with_client(args, lambda api: _apply(api, configuration, args))


def load_fleet_configuration(path: Path, name: str | None) -> dict[str, Any]:
    """The configuration to send: checked here first, each identity file replaced by its key's
    text (`ssh_key.private`). Raises ConfigurationError naming the field."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigurationError("", f"can't read the file: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError("", f"not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    if isinstance(data, dict) and name is not None:
        data["name"] = name
    parse_fleet_configuration(data, keys_inline=False)
    ssh = data["ssh_config"]
    base = Path(os.path.abspath(path)).parent
    _inline_key(ssh, "ssh_config", base)
    for index, host in enumerate(ssh["hosts"]):
        if isinstance(host, dict):
            _inline_key(host, f"ssh_config.hosts.{index}", base)
    parse_fleet_configuration(data)
    return dict(data)


def _inline_key(section: dict[str, Any], where: str, base: Path) -> None:
    """Relative identity files are relative to the configuration file, as working_dir is."""
    identity_file = section.pop("identity_file", None)
    if identity_file is None or "ssh_key" in section:
        return
    key_path = base / Path(identity_file).expanduser()
    try:
        section["ssh_key"] = {"private": key_path.read_text()}
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigurationError(f"{where}.identity_file", f"can't read {key_path}: {reason}") from None


def _apply(api: ApiClient, configuration: dict[str, Any], args: argparse.Namespace) -> int:
    client = FleetClient(api)
    name = str(configuration["name"])
    existing = client.get(name)
    if existing is not None and existing.status in (FleetStatus.SUBMITTED, FleetStatus.ACTIVE) \
            and not _agreed(name, args.yes):
        return EXIT_FAILURE
    fleet = client.apply(configuration)
    if args.detach:
        print_line(fleet.name)
        return 0
    seen: dict[str, str] = {}
    while True:
        _report(fleet, seen)
        if is_settled(fleet):
            break
        time.sleep(POLL_SECONDS)
        fleet = client.get(name) or fleet
    stdout_console().print(fleets_table([fleet]))
    return 0 if fleet.status is FleetStatus.ACTIVE else EXIT_FAILURE


def _agreed(name: str, yes: bool) -> bool:
    question = (f"The fleet {name} exists. Set its hosts up again (install this server's durastack where it "
                "differs, restart the workers; their jobs keep running)?")
    if yes:
        return True
    if stdin_is_terminal():
        return confirm(question)
    print_error(f"{question} Not asking without a terminal; pass -y to go ahead")
    return False


def _report(fleet: Fleet, seen: dict[str, str]) -> None:
    """A line on stderr for each change of the fleet's or an instance's status."""
    lines = {fleet.name: fleet_status_text(fleet)}
    lines |= {f"{fleet.name} {instance_label(instance)}": instance.status.value for instance in fleet.instances}
    for subject, status in lines.items():
        if seen.get(subject) != status:
            seen[subject] = status
            print_line(f"{subject}: {status}", err=True)
