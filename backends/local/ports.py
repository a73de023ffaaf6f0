"""Ports for service replicas: replicas of services on one host can't share one, so each gets
the port its configuration names when that one is free, else one the OS says is free."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Collection


def choose_port(wanted: int, taken: Collection[int]) -> int:
    """`wanted` unless another replica has it or something listens on it; else a free port."""
    if wanted not in taken and _bindable(wanted):
        return wanted
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("0.0.0.0", 0))
            port: int = probe.getsockname()[1]
        if port not in taken:
            return port


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            probe.bind(("0.0.0.0", port))
            return True
    return False
