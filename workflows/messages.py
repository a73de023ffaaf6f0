"""Inputs and messages of the RunWorkflow."""

from __future__ import annotations

from pydantic import BaseModel

from core.configuration import ReplicaRange
from core.run_state import RunState

RUN_WORKFLOW = "RunWorkflow"
STOP_SIGNAL = "stop"
SCALE_SIGNAL = "scale"
SCALE_UPDATE = "scale"
STATE_QUERY = "state"


class RunWorkflowInput(BaseModel):
    state: RunState


class StopCommand(BaseModel):
    abort: bool = False


class ScaleCommand(BaseModel):
    replicas: int
    # A re-applied service configuration may change the allowed range too.
    replica_range: ReplicaRange | None = None


class ScaleResult(BaseModel):
    desired_replicas: int
    added: list[int]
    removed: list[int]
