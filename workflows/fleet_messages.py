"""What a FleetWorkflow exchanges: its input and signals (sent by the API), and the names and
payloads of its activities. Private keys and database URLs never travel here: activities read
them from the database and their worker's settings, so they stay out of workflow histories."""

from __future__ import annotations

from pydantic import BaseModel

FLEET_WORKFLOW = "FleetWorkflow"
APPLY_SIGNAL = "apply"  # set the hosts up (again): install when missing, restart the workers
DELETE_SIGNAL = "delete"  # stop the runs on the fleet, then its workers; the fleet ends terminated

# Versions of what a FleetWorkflow does, as RunWorkflowInput.workflow_version is for runs.
CURRENT_FLEET_WORKFLOW_VERSION = 1

# Activities (activities/ssh_fleet.py opens SSH connections; activities/fleet_records.py touches
# only the database and runs as local activities).
FLEET_HOSTS = "fleet_hosts"
SET_UP_SSH_HOST = "set_up_ssh_host"
WAIT_FOR_HOSTS_TO_JOIN = "wait_for_hosts_to_join"
CHECK_SSH_WORKER = "check_ssh_worker"
RECORD_PROVISIONING = "record_provisioning"
SET_FLEET_MESSAGE = "set_fleet_message"
SILENT_HOSTS = "silent_hosts"
BEGIN_FLEET_REMOVAL = "begin_fleet_removal"
WAIT_FOR_FLEET_RELEASE = "wait_for_fleet_release"
STOP_SSH_WORKER = "stop_ssh_worker"
FINISH_FLEET_REMOVAL = "finish_fleet_removal"


class FleetWorkflowInput(BaseModel):
    fleet_id: str
    fleet_name: str
    # False: set every host up first. True when it continues as new, and when it was started
    # only to be removed (`fleets/delete` of a fleet whose workflow had ended).
    provisioned: bool = False
    workflow_version: int = CURRENT_FLEET_WORKFLOW_VERSION


def fleet_workflow_id(fleet_name: str, fleet_id: str) -> str:
    """Readable in the Temporal console; the id's prefix keeps deployments that share a Temporal
    server (and reuse fleet names) apart."""
    return f"fleet-{fleet_name}-{fleet_id[:8]}"


class FleetHost(BaseModel):
    """One host of an SSH fleet: its position in `ssh_config.hosts` and its host id."""

    fleet_id: str
    host_id: str
    index: int


class HostSetup(BaseModel):
    """What came of setting a host up: its worker started, or why not."""

    host_id: str
    started: bool
    message: str = ""


class ProvisioningOutcome(BaseModel):
    fleet_id: str
    setups: list[HostSetup]


class JoinWait(BaseModel):
    fleet_id: str
    host_ids: list[str]
    timeout_seconds: float


class WorkerCheckRequest(BaseModel):
    host: FleetHost
    restart: bool  # start the worker again when it is not running


class WorkerCheck(BaseModel):
    running: bool  # before any restart
    restarted: bool = False
    log_tail: str = ""  # the last lines of its log, to say why it is not running


class FleetMessage(BaseModel):
    fleet_id: str
    message: str


class FleetRemoval(BaseModel):
    """What removing a fleet has to do: stop these runs, then these hosts' workers."""

    run_workflow_ids: list[str]
    hosts: list[FleetHost]
