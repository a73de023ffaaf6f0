from __future__ import annotations

import pytest

from core.configuration import (
    ConfigurationError,
    ServiceConfiguration,
    TaskConfiguration,
    configuration_to_yaml_dict,
    initial_replicas,
    parse_configuration,
    parse_configuration_yaml,
)
from core.units import format_duration, parse_duration_seconds, parse_memory_mb

FULL = """
type: task
name: train
commands:
  - python train.py --epochs 3
env: {SEED: "1"}
working_dir: .
replicas: 2
resources: {cpu: 1, memory: 512MB}
max_duration: 1h
stop_duration: 30s
retry: {on_events: [error], duration: 10m}
"""


def test_the_documented_configuration_parses() -> None:
    configuration = parse_configuration_yaml(FULL)
    assert isinstance(configuration, TaskConfiguration)
    assert (configuration.name, configuration.replicas, configuration.env) == ("train", 2, {"SEED": "1"})
    assert (configuration.resources.cpu_milli, configuration.resources.memory_mb) == (1000, 512)
    assert (configuration.max_duration_seconds, configuration.stop_duration_seconds) == (3600, 30)
    assert configuration.retry is not None
    assert (configuration.retry.on_events, configuration.retry.duration_seconds) == (["error"], 600)


def test_configuration_survives_a_round_trip_through_json_and_yaml_form() -> None:
    configuration = parse_configuration_yaml(FULL)
    assert parse_configuration(configuration.model_dump(mode="json", by_alias=True)) == configuration
    assert parse_configuration(configuration_to_yaml_dict(configuration)) == configuration


@pytest.mark.parametrize(("replicas", "expected"), [(3, (3, 3)), ("1..4", (1, 4)), ("..2", (0, 2)), ("2", (2, 2))])
def test_service_replicas_accept_counts_and_ranges(replicas: object, expected: tuple[int, int]) -> None:
    service = parse_configuration({"type": "service", "commands": ["serve"], "port": 8000, "replicas": replicas})
    assert isinstance(service, ServiceConfiguration)
    assert (service.replicas.min, service.replicas.max) == expected
    assert initial_replicas(service) == max(expected[0], 1)


@pytest.mark.parametrize(("text", "field", "message"), [
    ("type: task\ncommands: [a]\nreplicas: 0", "replicas", "greater than or equal to 1"),
    ("type: task\ncommands: ['  ']", "commands", "commands can't be blank"),
    ("type: task\ncommands: [a]\nenv: [NOPE]", "env", "KEY=value"),
    ("type: task\ncommands: [a]\nport: 80", "port", "unknown field"),
    ("type: service\ncommands: [a]\nport: 70000", "port", "less than or equal to 65535"),
    ("type: service\ncommands: [a]\nport: 80\nreplicas: 1..", "replicas", "needs an upper bound"),
    ("type: task\ncommands: [a]\nresources: {cpu: 0}", "resources.cpu", "greater than or equal to 0.001"),
    ("type: task\ncommands: [a]\nstop_duration: -5", "stop_duration", "can't be negative"),
    ("- just\n- a list", "", "must be a mapping"),
    ("type: [unclosed", "", "not valid YAML at line 1"),
])
def test_bad_configurations_name_the_field(text: str, field: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_configuration_yaml(text)
    assert raised.value.field == field
    assert message in raised.value.message


@pytest.mark.parametrize(("value", "seconds"), [(90, 90), ("90", 90), ("30s", 30), ("10m", 600), ("1h", 3600),
                                                ("2d", 172800), ("1.5h", 5400), ("250ms", 0.25)])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration_seconds(value) == seconds


@pytest.mark.parametrize(("value", "mb"), [("512MB", 512), ("1GB", 1024), ("2GiB", 2048), (1, 1024), ("512M", 512),
                                           ("1.5GB", 1536)])
def test_memory_sizes(value: object, mb: int) -> None:
    assert parse_memory_mb(value) == mb


def test_format_duration_uses_the_largest_exact_unit() -> None:
    assert [format_duration(s) for s in (30, 600, 3600, 5400, 86400)] == ["30s", "10m", "1h", "90m", "1d"]


TASK = {"type": "task", "commands": ["true"]}


@pytest.mark.parametrize(("configuration", "field", "message"), [
    # Runs that could never run or stop (issue 11): every number is bounded at apply.
    ({"type": "service", "port": 80, "commands": ["serve"], "replicas": 1_000_000_000}, "replicas.min",
     "less than or equal to 500"),
    ({"type": "service", "port": 80, "commands": ["serve"], "replicas": "1..100000"}, "replicas.max",
     "less than or equal to 500"),
    ({**TASK, "replicas": 501}, "replicas", "less than or equal to 500"),
    ({**TASK, "max_duration": "99999999999d"}, "max_duration", "longer than the maximum, 365d"),
    ({**TASK, "stop_duration": "99999999999d"}, "stop_duration", "longer than the maximum, 1h"),
    ({**TASK, "retry": {"duration": "400d"}}, "retry.duration", "longer than the maximum, 365d"),
    ({**TASK, "resources": {"cpu": 1e308}}, "resources.cpu", "less than or equal to 1024"),
    ({**TASK, "resources": {"cpu": 0.0001}}, "resources.cpu", "greater than or equal to 0.001"),
    ({**TASK, "resources": {"memory": 1e308}}, "resources.memory", "not a finite size"),
    ({**TASK, "resources": {"memory": "100000TB"}}, "resources.memory", "more than the 65536GB"),
    # Configurations that would fail only at launch.
    ({**TASK, "env": {"": "x"}}, "env", "can't be empty or contain '='"),
    ({**TASK, "env": {"A=B": "x"}}, "env", "can't be empty or contain '='"),
    ({**TASK, "env": {"A\0": "x"}}, "env", "NUL"),
    ({**TASK, "env": {"A": "x\0"}}, "env", "the value of A can't contain a NUL character"),
    ({**TASK, "env": {"A": "\ud800"}}, "env", "not valid Unicode"),
    ({**TASK, "env": {f"K{i}": "x" * 300 for i in range(1000)}}, "env", "at most 262,144"),
    ({**TASK, "env": {"K": "x" * 100_000}}, "env", "at most 100,000"),
    ({**TASK, "commands": ["echo a\0b"]}, "commands", "NUL"),
    ({**TASK, "commands": ["echo x"] * 100_000}, "commands", "at most 100,000"),
    ({**TASK, "working_dir": "../elsewhere"}, "working_dir", "leaves the job's directory"),
    ({**TASK, "working_dir": "data/../../elsewhere"}, "working_dir", "leaves the job's directory"),
    ({**TASK, "working_dir": "/a\0b"}, "working_dir", "NUL"),
])
def test_impossible_runs_are_refused_naming_the_field(configuration: dict[str, object], field: str,
                                                     message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_configuration(configuration)
    assert raised.value.field == field
    assert message in raised.value.message


def test_the_largest_allowed_values_are_accepted() -> None:
    service = parse_configuration({
        "type": "service", "port": 80, "commands": ["x" * 99_000], "replicas": "0..500", "max_duration": "365d",
        "stop_duration": "1h", "retry": {"duration": "365d"}, "resources": {"cpu": 1024, "memory": "64TB"},
        "env": {"A": "v" * 99_000}, "working_dir": "data/../inside"})
    assert isinstance(service, ServiceConfiguration) and service.replicas.max == 500
