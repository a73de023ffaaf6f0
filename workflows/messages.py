"""Inputs and messages of the RunWorkflow."""

from __future__ import annotations

from pydantic import BaseModel

from core.configuration import ReplicaRange, ServiceConfiguration
from core.run_state import RunState

RUN_WORKFLOW = "RunWorkflow"
STOP_SIGNAL = "stop"
SCALE_SIGNAL = "scale"
SCALE_UPDATE = "scale"
STATE_QUERY = "state"
DEPLOY_UPDATE = "deploy"
HOST_LOST_SIGNAL = "host_lost"
READINESS_SIGNAL = "replica_readiness"


# Versions of what a RunWorkflow does, for changes that alter the commands it issues. A run keeps
# the version it started with, so its history replays with the code path that made it; absent from
# the input of runs started before versions existed, hence 1. (Not `workflow.patched`: its marker
# comes with a TemporalChangeVersion upsert, one more visibility write per run.) Workers must be
# upgraded before the API that starts runs with a newer version.
#   2: the last replica of a stopping run leaves its release to the final projection write; a run
#      stopped while waiting for capacity doesn't wait for the waiter to acknowledge its cancel.
#   3: the run continues as new when its history grows long, and resumes its replicas where they
#      were; max_duration counts from the first start; `no-capacity` in retry bounds a wait for
#      capacity; the status stays put between a replica's end and what follows; a failed run's
#      workflow fails.
#   4: a service's replicas are probed (ready ones take requests), drain before a scale-down stops
#      them, and a re-applied service rolls out a new deployment; continuing as new is decided once
#      per state version.
# A worker refuses a version newer than its own (the workflow task fails, and Temporal retries it,
# on an upgraded worker once there is one), and a run that continues as new takes the version of
# the worker that continues it. docs/production.md has the upgrade procedure.
CURRENT_WORKFLOW_VERSION = 4
RELEASE_WITH_FINAL_PROJECTION = 2
STOP_WITHOUT_WAITING_FOR_CANCEL = 2
RESUMABLE = 3
SERVING = 4

# Continue as new once the history has this many events (or when Temporal suggests it): far below
# Temporal's limit of 51,200, and small enough that replaying a run's history stays cheap.
CONTINUE_AS_NEW_AFTER_EVENTS = 700


# How long a rolling update waits for a new replica to become ready before it rolls back.
ROLLOUT_READY_TIMEOUT_SECONDS = 600.0

# How long continuing as new waits for a moment with nothing in flight before it leaves the running
# replicas' watchers behind.
QUIET_MOMENT_SECONDS = 0.5


class RunWorkflowInput(BaseModel):
    state: RunState
    workflow_version: int = 1
    continue_as_new_after_events: int = CONTINUE_AS_NEW_AFTER_EVENTS
    rollout_ready_timeout_seconds: float = ROLLOUT_READY_TIMEOUT_SECONDS
    quiet_moment_seconds: float = QUIET_MOMENT_SECONDS


class DeployCommand(BaseModel):
    """A service re-applied while it runs (version 4). `roll`: its replicas change (commands, env,
    resources, probes, port, code, ...), so a new deployment rolls out, one surge replica at a
    time; else only what the workflow and the proxy read changed (replicas, scaling, auth, ...)."""

    configuration: ServiceConfiguration
    code_hash: str | None = None
    roll: bool
    changed: list[str] = []  # the fields, for the run's event


class DeployResult(BaseModel):
    deployment_num: int
    desired_replicas: int


class StopCommand(BaseModel):
    abort: bool = False


class ScaleCommand(BaseModel):
    replicas: int
    # A re-applied service configuration may change the allowed range too.
    replica_range: ReplicaRange | None = None
    # Who decided, and why, for the run's events: "autoscaler: 1 → 3 (12.1 rps, target 3)". Empty:
    # a user's scale ("scaled to 3 replicas").
    reason: str = ""


class HostLost(BaseModel):
    """A host went silent past the liveness bound while these submissions held capacity on it."""

    host_id: str
    submission_ids: list[str]
    silent_seconds: float


class ReplicaReadiness(BaseModel):
    """Sent by a replica's prober when it becomes ready (its probes passed `ready_after` times in
    a row) or stops being (a probe failed)."""

    submission_id: str
    ready: bool
    message: str = ""


class ScaleResult(BaseModel):
    desired_replicas: int
    added: list[int]
    removed: list[int]
