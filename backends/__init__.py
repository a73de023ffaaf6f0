"""Backends: each lives in its own folder and registers itself with `backends.registry`."""
