"""What `apply` sends: the file validated locally; without the code, working_dir relative to the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.run_spec import load_run_spec, resolve_working_dir
from core.configuration import MAX_CONFIGURATION_YAML_CHARS, ConfigurationError


def test_working_dir_is_relative_to_the_configuration_file(tmp_path: Path) -> None:
    assert resolve_working_dir(None, tmp_path) == str(tmp_path)
    assert resolve_working_dir("", tmp_path) == str(tmp_path)
    assert resolve_working_dir("src", tmp_path) == str(tmp_path / "src")
    assert resolve_working_dir("../data/./x", tmp_path / "conf") == str(tmp_path / "data" / "x")
    assert resolve_working_dir("/opt/job", tmp_path) == "/opt/job"
    assert resolve_working_dir("~/job", tmp_path) == str(Path.home() / "job")


def test_without_code_the_spec_carries_absolute_paths_whatever_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "run.yml").write_text("type: task\ncommands: [make]\nworking_dir: build\nenv: {N: 1}\n")
    monkeypatch.chdir(tmp_path)
    spec = load_run_spec(Path("conf/run.yml"), "my-run", with_code=False)
    assert spec == {
        "configuration": {"type": "task", "commands": ["make"], "working_dir": str(tmp_path / "conf" / "build"),
                          "env": {"N": 1}},
        "run_name": "my-run",
        "configuration_path": str(tmp_path / "conf" / "run.yml"),
    }


def test_with_code_a_relative_working_dir_stays_relative_to_the_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    text = "type: task\ncommands: [make]\nworking_dir: build\n"
    (tmp_path / "conf" / "run.yml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert load_run_spec(Path("conf/run.yml"), None) == {
        "configuration": {"type": "task", "commands": ["make"], "working_dir": "build"},
        "run_name": None,
        "configuration_path": str(tmp_path / "conf" / "run.yml"),
        "configuration_yaml": text,
    }


def test_the_file_travels_as_written_and_no_working_dir_is_made_up(tmp_path: Path) -> None:
    """The run keeps the text to show it as written; with its code, a configuration without a
    working_dir is sent without one (a client that sends the same file plans no change)."""
    text = "# a comment\ntype: service\nport: 8000\ncommands:\n  - |\n    echo one\n    echo two\nenv: {N: 4}\n"
    path = tmp_path / "svc.yml"
    path.write_text(text)
    spec = load_run_spec(path, None)
    assert spec["configuration_yaml"] == text
    assert "working_dir" not in spec["configuration"]
    # Without the code the configuration changes (an absolute working_dir), so the text, which no
    # longer says what runs, stays behind; so does a text over the bound (the run still runs).
    assert "configuration_yaml" not in load_run_spec(path, None, with_code=False)
    path.write_text(text + "#" * MAX_CONFIGURATION_YAML_CHARS)
    assert "configuration_yaml" not in load_run_spec(path, None)


def test_an_invalid_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "run.yml"
    path.write_text("type: task\ncommands: [make]\nresources: {memory: lots}\n")
    with pytest.raises(ConfigurationError) as raised:
        load_run_spec(path, None)
    assert str(raised.value).startswith("resources.memory: 'lots' is not a size")


@pytest.mark.parametrize(("text", "message"), [
    ("type: task\ncommands: [\n", "not valid YAML at line"),
    ("- a list\n", "a run configuration must be a mapping"),
])
def test_a_file_that_is_not_a_configuration(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.yml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        load_run_spec(path, None)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="can't read the file: No such file or directory"):
        load_run_spec(tmp_path / "absent.yml", None)
