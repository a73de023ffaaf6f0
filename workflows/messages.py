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


# Versions of what a RunWorkflow does, for changes that alter the commands it issues. A run keeps
# the version it started with, so its history replays with the code path that made it; absent from
# the input of runs started before versions existed, hence 1. (Not `workflow.patched`: its marker
# comes with a TemporalChangeVersion upsert, one more visibility write per run.) Workers must be
# upgraded before the API that starts runs with a newer version.
#   2: the last replica of a stopping run leaves its release to the final projection write; a run
#      stopped while waiting for capacity doesn't wait for the waiter to acknowledge its cancel.
CURRENT_WORKFLOW_VERSION = 2
RELEASE_WITH_FINAL_PROJECTION = 2
STOP_WITHOUT_WAITING_FOR_CANCEL = 2


class RunWorkflowInput(BaseModel):
    state: RunState
    workflow_version: int = 1


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
