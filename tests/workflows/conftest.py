"""The Temporal server the workflow tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core import search_attributes
from server.temporal import temporal_binary


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """The dev server with per-workflow time skipping: a run's timers fire about a second after it
    is idle, but its clock stands still while any of its activities runs (a replica's watcher), so
    tests with running replicas keep their timers to real seconds."""
    environment = await WorkflowEnvironment.start_time_skipping_v2(
        data_converter=pydantic_data_converter, dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true",
                               "--log-level", "error", *search_attributes.dev_server_flags()])
    async with environment:
        yield environment
