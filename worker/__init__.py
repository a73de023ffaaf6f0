"""Temporal workers: the run workflow worker and the host worker of this machine."""
