"""The run spec `apply` sends: the configuration file validated locally, and its text, which the run
keeps to show as written. Without its code, the job runs in the file's directory on the host, so
paths are made absolute (and the text, which no longer says what runs, is not sent)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from core.configuration import MAX_CONFIGURATION_YAML_CHARS, ConfigurationError, parse_configuration_yaml


def resolve_working_dir(working_dir: str | None, configuration_dir: Path) -> str:
    """Relative paths mean relative to the configuration file, wherever the CLI was started."""
    if not working_dir:
        return os.path.abspath(configuration_dir)
    return os.path.abspath(configuration_dir / Path(working_dir).expanduser())


def load_run_spec(path: Path, run_name: str | None, *, with_code: bool = True) -> dict[str, Any]:
    """Raises ConfigurationError (for the file as a whole or one field) before anything is sent.
    `with_code`: the file's directory travels with the run (cli/code_upload.py), and a relative
    working_dir stays relative: to that code, in the job's home."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigurationError("", f"can't read the file: {error.strerror or error}") from None
    parse_configuration_yaml(text)
    # Send what the user wrote (the server validates again); without the code, the working_dir changes.
    configuration: dict[str, Any] = yaml.safe_load(text)
    absolute_path = Path(os.path.abspath(path))
    spec: dict[str, Any] = {"configuration": configuration, "run_name": run_name,
                            "configuration_path": str(absolute_path)}
    if not with_code:
        configuration["working_dir"] = resolve_working_dir(configuration.get("working_dir"), absolute_path.parent)
    elif len(text) <= MAX_CONFIGURATION_YAML_CHARS:  # a larger file still runs; its page renders it
        spec["configuration_yaml"] = text
    return spec
