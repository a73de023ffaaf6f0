"""Parsing of the human-friendly durations and sizes used in run configurations."""

import math
import re

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?)?\s*$", re.IGNORECASE)
_MEMORY_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def parse_duration_seconds(value: object) -> float:
    """`90`, `"90s"`, `"10m"`, `"1h"`, `"2d"` → seconds. A bare number means seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _DURATION_SECONDS[match.group(2) or "s"]
    else:
        raise ValueError(f"{value!r} is not a duration; use e.g. 30s, 10m, 1h or 2d")
    if seconds < 0:
        raise ValueError("a duration can't be negative")
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration")
    return seconds


def parse_memory_mb(value: object) -> int:
    """`"512MB"`, `"1GB"`, `"2GiB"` → MiB. A bare number means GB, as in dstack."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512MB or 2GB")
    if isinstance(value, int | float):
        mb = float(value) * 1024
    elif isinstance(value, str) and (match := _MEMORY_RE.match(value)):
        unit = (match.group(2) or "G")[0].upper()
        mb = float(match.group(1)) * _MEMORY_MB[unit]
    else:
        raise ValueError(f"{value!r} is not a size; use e.g. 512MB or 2GB")
    if mb <= 0:
        raise ValueError("a size must be positive")
    if not math.isfinite(mb):
        raise ValueError(f"{value!r} is not a finite size")
    return max(1, round(mb))


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def format_memory(mb: int) -> str:
    return f"{mb / 1024:g}GB" if mb >= 1024 and mb % 1024 == 0 else f"{mb}MB"
