"""Replaying recorded workflow histories against the current RunWorkflow code."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.run_workflow import RunWorkflow


async def replay(histories: Sequence[WorkflowHistory]) -> int:
    """Raises on the first nondeterminism; returns how many histories replayed. The replayer keeps
    the SDK's default sandbox (the workers run without it), so a restricted call in the workflow
    code (the clock, random, I/O) fails here too."""
    replayer = Replayer(workflows=[RunWorkflow], data_converter=pydantic_data_converter)
    for history in histories:
        await replayer.replay_workflow(history)
    return len(histories)
