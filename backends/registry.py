"""Discovers backends: every sub-package of `backends` that calls `register`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import backends
from backends.base import BackendConfig, Compute

_BACKENDS: dict[str, type[Compute]] = {}


def register(compute: type[Compute]) -> type[Compute]:
    _BACKENDS[compute.backend_type] = compute
    return compute


def _discover() -> None:
    for module in pkgutil.iter_modules(backends.__path__):
        if module.ispkg:
            importlib.import_module(f"backends.{module.name}")


def backend_types() -> list[str]:
    _discover()
    return sorted(_BACKENDS)


def create_compute(backend_type: str, config: dict[str, Any], **kwargs: Any) -> Compute:
    """Validates the backend's config and builds its compute."""
    _discover()
    try:
        compute_class = _BACKENDS[backend_type]
    except KeyError:
        raise ValueError(f"unknown backend type {backend_type!r}; known: {', '.join(sorted(_BACKENDS))}") from None
    parsed: BackendConfig = compute_class.config_model.model_validate(config)
    return compute_class(parsed, **kwargs)  # type: ignore[call-arg]
