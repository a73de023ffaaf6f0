"""The local host backend: replicas are detached processes on the worker's own machine."""

from backends.local.compute import LocalCompute
from backends.registry import register

register(LocalCompute)
