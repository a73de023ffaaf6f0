"""Where the CLI finds its server: flags > environment > config file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from cli.client_config import (
    ClientConfig,
    ClientConfigError,
    client_config_from_args,
    config_file_path,
    read_config_file,
    resolve_client_config,
)

NO_FLAGS: dict[str, str | None] = {"url": None, "token": None, "project": None}
FILE = {"url": "http://file:1", "token": "file-token", "project": "file-project"}
ENV = {"DURASTACK_URL": "http://env:2", "DURASTACK_TOKEN": "env-token", "DURASTACK_PROJECT": "env-project"}


def test_flags_beat_environment_which_beats_the_file() -> None:
    flags = {"url": "http://flag:3/", "token": None, "project": None}
    assert resolve_client_config(flags, {"DURASTACK_TOKEN": "env-token"}, FILE) == ClientConfig(
        url="http://flag:3", token="env-token", project="file-project")
    assert resolve_client_config(NO_FLAGS, ENV, FILE) == ClientConfig("http://env:2", "env-token", "env-project")
    assert resolve_client_config(NO_FLAGS, {}, FILE) == ClientConfig("http://file:1", "file-token", "file-project")


def test_empty_values_fall_through_and_the_project_defaults_to_main() -> None:
    config = resolve_client_config({"url": "", "token": None, "project": None},
                                   {"DURASTACK_URL": "", "DURASTACK_TOKEN": "t"}, {"url": "http://file:1"})
    assert config == ClientConfig("http://file:1", "t", "main")


def test_a_missing_token_names_every_place_to_set_it() -> None:
    with pytest.raises(ClientConfigError) as raised:
        resolve_client_config(NO_FLAGS, {"DURASTACK_URL": "http://env:2"}, {}, Path("/home/u/.durastack/config.yml"))
    assert str(raised.value) == ("no server token configured: pass --token, set DURASTACK_TOKEN, or put token in "
                                 "/home/u/.durastack/config.yml (`durastack server` writes that file)")


def test_config_file_location() -> None:
    assert config_file_path({"DURASTACK_CONFIG": "/etc/ds.yml", "HOME": "/home/u"}) == Path("/etc/ds.yml")
    assert config_file_path({"HOME": "/home/u"}) == Path("/home/u/.durastack/config.yml")


def test_config_file_reading(tmp_path: Path) -> None:
    assert read_config_file(tmp_path / "absent.yml") == {}
    (tmp_path / "empty.yml").write_text("")
    assert read_config_file(tmp_path / "empty.yml") == {}
    (tmp_path / "list.yml").write_text("- a\n")
    with pytest.raises(ClientConfigError, match="expected a mapping"):
        read_config_file(tmp_path / "list.yml")
    (tmp_path / "broken.yml").write_text("url: [\n")
    with pytest.raises(ClientConfigError, match=r"^can't read .*broken\.yml") as raised:
        read_config_file(tmp_path / "broken.yml")
    assert "\n" not in str(raised.value)


def test_the_file_written_by_the_server_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({"url": "http://127.0.0.1:3000", "token": "secret", "project": "main"}))
    args = argparse.Namespace(url=None, token=None, project="other")
    assert client_config_from_args(args, {"DURASTACK_CONFIG": str(path)}) == ClientConfig(
        "http://127.0.0.1:3000", "secret", "other")


def test_the_file_is_not_read_when_flags_and_environment_say_everything(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("- not a mapping\n")
    args = argparse.Namespace(url="http://flag:3", token=None, project=None)
    environ = {"DURASTACK_CONFIG": str(path), "DURASTACK_TOKEN": "t", "DURASTACK_PROJECT": "p"}
    assert client_config_from_args(args, environ) == ClientConfig("http://flag:3", "t", "p")
