"""Workflows. `run_workflow` holds the whole run lifecycle."""
