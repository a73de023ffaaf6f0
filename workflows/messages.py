"""Inputs and messages of the RunWorkflow."""

from __future__ import annotations

from pydantic import BaseModel

from core.run_state import RunState

RUN_WORKFLOW = "RunWorkflow"
STOP_SIGNAL = "stop"
STATE_QUERY = "state"


class RunWorkflowInput(BaseModel):
    state: RunState


class StopCommand(BaseModel):
    abort: bool = False
