"""The run configuration a user writes in YAML (`type: task` or `type: service`)."""

from __future__ import annotations

import posixpath
import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from core.gpus import GpuSpec
from core.service_configuration import MAX_PROBES, ProbeConfig, ScalingConfig
from core.units import format_duration, format_memory, parse_duration_seconds, parse_memory_mb

RUN_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,40}$"
FLEET_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,40}$"

# Bounds of every number and text a run may ask for, checked at apply so that nothing impossible
# reaches a workflow or a host (docs/runs-and-jobs.md says why each is what it is).
# Each replica may have two activities in flight (its watcher and its termination), and Temporal
# fails a workflow task that schedules past 2,000 pending activities (its default limit).
MAX_REPLICAS = 500
MAX_CPU = 1024
MAX_MEMORY_MB = 64 * 1024 * 1024  # 64TB
MAX_RUN_DURATION_SECONDS = 365 * 86400  # max_duration and retry.duration
MAX_STOP_DURATION_SECONDS = 3600
# The script is one argument of `bash -c`, and Linux refuses a single argument over 128 KiB.
MAX_SCRIPT_BYTES = 100_000
MAX_ENV_VARIABLES = 1000
MAX_ENV_ENTRY_BYTES = 100_000  # KEY=value, also one string of the job's environment
MAX_ENV_BYTES = 256 * 1024  # all of them: with the script, well within the OS limit of 2 MiB
MAX_PATH_BYTES = 4096
# The submitted YAML a run keeps to show as it was written: a configuration at every bound above
# (script, environment) fits, with room for its keys, quotes and comments.
MAX_CONFIGURATION_YAML_CHARS = 512 * 1024
_RANGE_RE = re.compile(r"^\s*(\d+)?\s*\.\.\s*(\d+)?\s*$")


class ConfigurationError(ValueError):
    """A configuration that can't be accepted; `field` is the dotted path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Strict):
    cpu: float = Field(default=1, ge=0.001, le=MAX_CPU, description="CPUs for each replica (fractions allowed)")
    memory_mb: int = Field(default=512, gt=0, le=MAX_MEMORY_MB, alias="memory", description="Memory for each replica")
    gpu: GpuSpec | None = Field(default=None, description="GPUs for each replica: 24GB, A100, A100:2, 2, "
                                                          "A100:40GB:2, A10G,A100:2 or {name, count, memory}")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("gpu", mode="before")
    @classmethod
    def _parse_gpu(cls, value: object) -> object:
        # As in dstack, `gpu: 0` asks for none; every other form is GpuSpec's to read.
        if value in (0, "0") and not isinstance(value, bool):
            return None
        return value

    @field_validator("memory_mb", mode="before")
    @classmethod
    def _parse_memory(cls, value: object) -> int:
        memory_mb = parse_memory_mb(value)
        if memory_mb > MAX_MEMORY_MB:
            raise ValueError(f"{value!r} is more than the {format_memory(MAX_MEMORY_MB)} a replica may ask for")
        return memory_mb

    @field_serializer("memory_mb")
    def _memory_with_unit(self, memory_mb: int) -> str:
        # A bare number would read back as GB.
        return f"{memory_mb}MB"

    @property
    def cpu_milli(self) -> int:
        return round(self.cpu * 1000)

    def describe(self) -> str:
        gpu = f", {self.gpu.describe()}" if self.gpu is not None else ""
        return f"{self.cpu:g} CPU, {format_memory(self.memory_mb)}{gpu}"


RetryEvent = Literal["no-capacity", "error", "interruption"]


def _every_retry_event() -> list[RetryEvent]:
    return ["no-capacity", "error", "interruption"]


class RetryPolicy(_Strict):
    on_events: list[RetryEvent] = Field(default_factory=_every_retry_event)
    duration_seconds: float = Field(default=3600, alias="duration")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("duration_seconds", mode="before")
    @classmethod
    def _parse_duration(cls, value: object) -> float:
        return _bounded_duration(value, MAX_RUN_DURATION_SECONDS)


class ReplicaRange(_Strict):
    min: int = Field(ge=0, le=MAX_REPLICAS)
    max: int = Field(ge=1, le=MAX_REPLICAS)

    @model_validator(mode="after")
    def _ordered(self) -> ReplicaRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def __str__(self) -> str:
        return str(self.min) if self.min == self.max else f"{self.min}..{self.max}"


def _bounded_duration(value: object, maximum: float) -> float:
    seconds = parse_duration_seconds(value)
    if seconds > maximum:
        raise ValueError(f"{value!r} is longer than the maximum, {format_duration(maximum)}")
    return seconds


def _parse_duration_or_none(value: object, maximum: float) -> float | None:
    if value is None or value == "off" or value is False:
        return None
    return _bounded_duration(value, maximum)


def _utf8_bytes(text: str, what: str) -> int:
    """The size of `text` as the OS gets it; NUL ends a C string, so it can't be passed at all."""
    if "\0" in text:
        raise ValueError(f"{what} can't contain a NUL character")
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode text (a lone surrogate)") from None


class _BaseRunConfiguration(_Strict):
    name: str | None = Field(default=None, pattern=RUN_NAME_PATTERN,
                             description="Run name; generated when absent")
    commands: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict, max_length=MAX_ENV_VARIABLES)
    working_dir: str | None = Field(default=None, description=(
        "absolute, or relative to the job's own directory on its host (which it can't leave)"))
    resources: Resources = Field(default_factory=Resources)
    max_duration_seconds: float | None = Field(default=None, alias="max_duration")
    stop_duration_seconds: float = Field(default=30, alias="stop_duration")
    retry: RetryPolicy | None = None
    fleets: list[Annotated[str, Field(pattern=FLEET_NAME_PATTERN)]] | None = Field(
        default=None, max_length=100, description="Fleets the run may use (default: every fleet its project can use)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("commands")
    @classmethod
    def _non_blank_commands(cls, commands: list[str]) -> list[str]:
        if any(not command.strip() for command in commands):
            raise ValueError("commands can't be blank")
        script_bytes = sum(_utf8_bytes(command, "a command") + 1 for command in commands)
        if script_bytes > MAX_SCRIPT_BYTES:
            raise ValueError(f"the commands make a script of {script_bytes:,} bytes; "
                             f"at most {MAX_SCRIPT_BYTES:,} (the OS limit of one argument)")
        return commands

    @field_validator("env")
    @classmethod
    def _passable_env(cls, env: dict[str, str]) -> dict[str, str]:
        total = 0
        for key, value in env.items():
            if not key or "=" in key:
                raise ValueError(f"{key!r} is not a variable name: it can't be empty or contain '='")
            entry = _utf8_bytes(key, f"the name {key!r}") + 1 + _utf8_bytes(value, f"the value of {key}")
            if entry > MAX_ENV_ENTRY_BYTES:
                raise ValueError(f"{key} is {entry:,} bytes long; at most {MAX_ENV_ENTRY_BYTES:,}")
            total += entry + 1
        if total > MAX_ENV_BYTES:
            raise ValueError(f"the variables take {total:,} bytes; at most {MAX_ENV_BYTES:,}")
        return env

    @field_validator("working_dir")
    @classmethod
    def _contained_working_dir(cls, working_dir: str | None) -> str | None:
        if working_dir is None:
            return None
        if _utf8_bytes(working_dir, "working_dir") > MAX_PATH_BYTES:
            raise ValueError(f"a path of at most {MAX_PATH_BYTES} bytes")
        if not posixpath.isabs(working_dir) and posixpath.normpath(working_dir).split("/")[0] == "..":
            raise ValueError(f"{working_dir!r} leaves the job's directory; use an absolute path or one inside it")
        return working_dir

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_as_text(cls, env: object) -> object:
        if isinstance(env, dict):
            return {key: v if isinstance(v, str) else _scalar_to_text(v) for key, v in env.items()}
        if isinstance(env, list):  # dstack also accepts ["KEY=value", ...]
            pairs = [item.split("=", 1) if isinstance(item, str) and "=" in item else None for item in env]
            if any(pair is None for pair in pairs):
                raise ValueError("list entries must look like KEY=value")
            return {key: value for key, value in pairs}  # type: ignore[misc]
        return env

    @field_validator("max_duration_seconds", mode="before")
    @classmethod
    def _parse_max_duration(cls, value: object) -> float | None:
        return _parse_duration_or_none(value, MAX_RUN_DURATION_SECONDS)

    @field_validator("stop_duration_seconds", mode="before")
    @classmethod
    def _parse_stop_duration(cls, value: object) -> float:
        return _bounded_duration(value, MAX_STOP_DURATION_SECONDS)

    @field_validator("retry", mode="before")
    @classmethod
    def _retry_shorthand(cls, value: object) -> object:
        if value is True:
            return {}
        if value is False:
            return None
        return value


def _scalar_to_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError("env values must be strings, numbers or booleans")


class TaskConfiguration(_BaseRunConfiguration):
    type: Literal["task"] = "task"
    replicas: int = Field(default=1, ge=1, le=MAX_REPLICAS)

    @property
    def replica_range(self) -> ReplicaRange:
        return ReplicaRange(min=self.replicas, max=self.replicas)


class ServiceConfiguration(_BaseRunConfiguration):
    type: Literal["service"]
    port: int = Field(ge=1, le=65535)
    replicas: ReplicaRange = Field(default_factory=lambda: ReplicaRange(min=1, max=1))
    probes: list[ProbeConfig] = Field(default_factory=list, max_length=MAX_PROBES, description=(
        "A replica is ready (takes requests) once every probe passes; without probes, once its port accepts "
        "connections"))
    scaling: ScalingConfig | None = Field(default=None, description="Autoscaling within `replicas` by requests/s")
    auth: bool = Field(default=True, description="The proxy asks for a project member's token")
    strip_prefix: bool = Field(default=True, description="The proxy strips /proxy/services/{project}/{run}")

    @field_validator("scaling")
    @classmethod
    def _scaling_needs_a_range(cls, scaling: ScalingConfig | None, info: ValidationInfo) -> ScalingConfig | None:
        replicas = info.data.get("replicas")
        if scaling is not None and isinstance(replicas, ReplicaRange) and replicas.min == replicas.max:
            raise ValueError(f"needs a range of replicas (e.g. replicas: 0..{max(replicas.max, 2)}), "
                             f"not a fixed {replicas.max}")
        return scaling

    @field_validator("replicas", mode="before")
    @classmethod
    def _parse_replicas(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("expected a number of replicas or a range min..max")
        if isinstance(value, int):
            return {"min": value, "max": value}
        if isinstance(value, str):
            match = _RANGE_RE.match(value)
            if match is None:
                if value.strip().isdigit():
                    return {"min": int(value), "max": int(value)}
                raise ValueError(f"{value!r} is not a replica count or a range like 1..4")
            low, high = match.groups()
            if high is None:
                raise ValueError("a replica range needs an upper bound, e.g. 1..4")
            return {"min": int(low or 0), "max": int(high)}
        return value

    @property
    def replica_range(self) -> ReplicaRange:
        return self.replicas


RunConfiguration = Annotated[TaskConfiguration | ServiceConfiguration, Field(discriminator="type")]
_configuration_adapter: TypeAdapter[TaskConfiguration | ServiceConfiguration] = TypeAdapter(RunConfiguration)


def changed_fields(old: TaskConfiguration | ServiceConfiguration,
                   new: TaskConfiguration | ServiceConfiguration) -> list[str]:
    """Top-level fields that differ, as a user would name them."""
    before, after = old.model_dump(by_alias=True), new.model_dump(by_alias=True)
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def initial_replicas(configuration: TaskConfiguration | ServiceConfiguration) -> int:
    # A service with `min: 0` still starts one replica: its first deployment shows that it works, and
    # the autoscaler takes it to zero once it has had no traffic for scale_down_delay.
    return max(configuration.replica_range.min, 1)


def describe_validation_error(error: ValidationError, prefix: str = "") -> ConfigurationError:
    """The first problem of a pydantic error, as `field.path: message`."""
    first = error.errors()[0]
    location = [str(part) for part in first["loc"] if part not in ("task", "service")]
    path = ".".join([prefix, *location] if prefix else location)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "union_tag_invalid":
        message = "type must be 'task' or 'service'"
    elif first["type"] == "union_tag_not_found":
        path, message = ".".join(filter(None, [prefix, "type"])), "required: 'task' or 'service'"
    return ConfigurationError(path, message)


def parse_configuration(data: Any) -> TaskConfiguration | ServiceConfiguration:
    """Validate a configuration mapping; raises ConfigurationError naming the field."""
    if not isinstance(data, dict):
        raise ConfigurationError("", "a run configuration must be a mapping with a `type`")
    try:
        return _configuration_adapter.validate_python(data)
    except ValidationError as error:
        raise describe_validation_error(error) from None


def parse_configuration_yaml(text: str) -> TaskConfiguration | ServiceConfiguration:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError("", f"not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    return parse_configuration(data)


def configuration_to_yaml_dict(configuration: TaskConfiguration | ServiceConfiguration) -> dict[str, Any]:
    """The configuration as a user would write it (aliases, human units)."""
    data = configuration.model_dump(by_alias=True, exclude_none=True, mode="json")
    resources = configuration.resources
    data["resources"] = {"cpu": resources.cpu, "memory": format_memory(resources.memory_mb)}
    if resources.gpu is not None:
        data["resources"]["gpu"] = resources.gpu.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["stop_duration"] = format_duration(configuration.stop_duration_seconds)
    if configuration.max_duration_seconds is not None:
        data["max_duration"] = format_duration(configuration.max_duration_seconds)
    if isinstance(configuration, ServiceConfiguration):
        data["replicas"] = str(configuration.replicas)
        for probe, written in zip(configuration.probes, data.get("probes", []), strict=True):
            written["timeout"], written["interval"] = (format_duration(probe.timeout_seconds),
                                                       format_duration(probe.interval_seconds))
        if (scaling := configuration.scaling) is not None:
            data["scaling"].update(window=format_duration(scaling.window_seconds),
                                   scale_up_delay=format_duration(scaling.scale_up_delay_seconds),
                                   scale_down_delay=format_duration(scaling.scale_down_delay_seconds))
    if configuration.retry is not None:
        data["retry"] = {"on_events": list(configuration.retry.on_events),
                         "duration": format_duration(configuration.retry.duration_seconds)}
    return data
