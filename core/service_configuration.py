"""What a service says about serving: its probes and its autoscaling (dstack's shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.units import format_duration, parse_duration_seconds

MAX_PROBES = 10
MAX_PROBE_BODY_BYTES = 64 * 1024
MAX_PROBE_INTERVAL_SECONDS = 3600
MAX_SCALING_DELAY_SECONDS = 86400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _seconds_between(value: object, low: float, high: float) -> float:
    seconds = parse_duration_seconds(value)
    if not low <= seconds <= high:
        raise ValueError(f"{value!r} is not between {format_duration(low)} and {format_duration(high)}")
    return seconds


class ProbeHeader(_Strict):
    name: str = Field(min_length=1, max_length=256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    value: str = Field(max_length=8192)


class ProbeConfig(_Strict):
    """An HTTP request to the replica; it passes on a 2xx answer within `timeout`."""

    type: Literal["http"] = "http"
    url: str = Field(default="/", max_length=2048, pattern=r"^/", description="Path (and query) on the replica")
    method: Literal["get", "post", "put", "delete", "patch", "head"] = "get"
    headers: list[ProbeHeader] = Field(default_factory=list, max_length=50)
    body: str | None = Field(default=None, max_length=MAX_PROBE_BODY_BYTES)
    timeout_seconds: float = Field(default=10, alias="timeout")
    interval_seconds: float = Field(default=15, alias="interval")
    ready_after: int = Field(default=1, ge=1, le=100, description="Passes in a row before the replica is ready")

    @field_validator("method", mode="before")
    @classmethod
    def _lower_method(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("timeout_seconds", mode="before")
    @classmethod
    def _parse_timeout(cls, value: object) -> float:
        return _seconds_between(value, 0.1, 300)

    @field_validator("interval_seconds", mode="before")
    @classmethod
    def _parse_interval(cls, value: object) -> float:
        return _seconds_between(value, 0.2, MAX_PROBE_INTERVAL_SECONDS)


class ScalingConfig(_Strict):
    """Requests per second per replica: the autoscaler keeps ceil(rps / target) replicas within
    `replicas`, measured over `window`, and waits `scale_up_delay` / `scale_down_delay` after the
    last change before it scales that way again."""

    metric: Literal["rps"] = "rps"
    target: float = Field(gt=0, le=1_000_000)
    window_seconds: float = Field(default=60, alias="window")
    scale_up_delay_seconds: float = Field(default=300, alias="scale_up_delay")
    scale_down_delay_seconds: float = Field(default=600, alias="scale_down_delay")

    @field_validator("window_seconds", mode="before")
    @classmethod
    def _parse_window(cls, value: object) -> float:
        return _seconds_between(value, 1, 3600)

    @field_validator("scale_up_delay_seconds", "scale_down_delay_seconds", mode="before")
    @classmethod
    def _parse_delay(cls, value: object) -> float:
        return _seconds_between(value, 0, MAX_SCALING_DELAY_SECONDS)
