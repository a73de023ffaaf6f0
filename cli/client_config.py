"""Where the CLI finds its server: flags, then environment variables, then the config file."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PROJECT = "main"

# Pre-wrapped: the client commands format help raw to keep their epilogs' layout.
CONNECTION_HELP = """\
These flags go after the command name: durastack ps --project main.
Each setting comes from its flag, else its environment variable, else the config
file $DURASTACK_CONFIG or ~/.durastack/config.yml (keys url, token, project),
which `durastack server` writes."""


class ClientConfigError(Exception):
    """The settings are incomplete or unreadable; the message is one line for the user."""


@dataclass(frozen=True)
class ClientConfig:
    url: str
    token: str
    project: str


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The same flags on every client command; they go after the command name."""
    group = parser.add_argument_group("connection", CONNECTION_HELP)
    group.add_argument("--url", help="server URL, e.g. http://127.0.0.1:3000 (env DURASTACK_URL)")
    group.add_argument("--token", help="API token (env DURASTACK_TOKEN)")
    group.add_argument("--project", help=f"project name (env DURASTACK_PROJECT; default {DEFAULT_PROJECT})")


def config_file_path(environ: Mapping[str, str]) -> Path:
    # Mirrors server.main.client_config_path without importing the server.
    if environ.get("DURASTACK_CONFIG"):
        return Path(environ["DURASTACK_CONFIG"])
    return Path(environ.get("HOME") or Path.home()) / ".durastack" / "config.yml"


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's mapping; a missing file is an empty one, since flags or env may suffice."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as error:
        raise ClientConfigError(f"can't read {path}: {error}".splitlines()[0]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClientConfigError(f"{path}: expected a mapping with url, token and project")
    return data


def resolve_client_config(flags: Mapping[str, str | None], environ: Mapping[str, str],
                          file_values: Mapping[str, Any], file_path: Path | None = None) -> ClientConfig:
    """Each setting separately from the first source that has it."""
    from_environ = {key: environ.get(f"DURASTACK_{key.upper()}") for key in ("url", "token", "project")}

    def pick(key: str) -> str | None:
        for values in (flags, from_environ, file_values):
            if values.get(key):
                return str(values[key])
        return None

    url, token = pick("url"), pick("token")
    missing = [key for key, value in (("url", url), ("token", token)) if not value]
    if missing:
        flags_text = " and ".join(f"--{key}" for key in missing)
        env_text = " and ".join(f"DURASTACK_{key.upper()}" for key in missing)
        file_text = f", or put {' and '.join(missing)} in {file_path}" if file_path is not None else ""
        raise ClientConfigError(f"no server {' or '.join(missing)} configured: pass {flags_text}, "
                                f"set {env_text}{file_text} (`durastack server` writes that file)")
    assert url is not None and token is not None
    return ClientConfig(url=url.rstrip("/"), token=token, project=pick("project") or DEFAULT_PROJECT)


def client_config_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> ClientConfig:
    flags = {"url": args.url, "token": args.token, "project": args.project}
    path = config_file_path(environ)
    # Only touch the file when flags and environment leave something unset.
    needed = any(not flags[key] and not environ.get(f"DURASTACK_{key.upper()}") for key in flags)
    file_values = read_config_file(path) if needed else {}
    return resolve_client_config(flags, environ, file_values, path)
