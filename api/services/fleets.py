"""Fleets and instances: list what a project may use, apply and delete SSH fleets.

Any member may list; creating and deleting SSH fleets is for project admins and managers (and
global admins). Applying starts the fleet's workflow (workflows/fleet_workflow.py) or tells the
running one to set its hosts up again; deleting marks the fleet and its hosts `terminating` at
once, so the scheduler stops placing there, and leaves the rest to the workflow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncssh
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from api.auth import ProjectAccess
from api.errors import ApiError, Conflict, Forbidden, NotFound
from api.fleet_schemas import (
    Fleet,
    FleetSpec,
    Instance,
    InstanceGpu,
    InstanceJob,
    InstanceResources,
    ListInstancesRequest,
)
from core.configuration import ConfigurationError
from core.fleet_configuration import FleetConfiguration, parse_fleet_configuration
from core.statuses import FleetStatus, InstanceStatus
from store import fleets as stored
from store.accounts import Accounts, User
from store.fleets import FleetConflict, FleetStore, HostHoldings
from workflows.fleet_messages import (
    APPLY_SIGNAL,
    DELETE_SIGNAL,
    FLEET_WORKFLOW,
    FleetWorkflowInput,
    fleet_workflow_id,
)

log = structlog.get_logger(__name__)

START_TIMEOUT = timedelta(seconds=10)
_SPEC = "spec.configuration"
SQLITE_REFUSAL = ("SSH fleets need the server on PostgreSQL (DATABASE_URL): their hosts' workers use the "
                  "server's database, and this server runs on SQLite, which other machines can't reach")


class FleetService:
    def __init__(self, fleets: FleetStore, accounts: Accounts, client: Client, task_queue: str) -> None:
        self._fleets = fleets
        self._accounts = accounts
        self._client = client
        self._task_queue = task_queue

    # -- reading --------------------------------------------------------------------------------

    async def list_fleets(self, access: ProjectAccess, *, include_terminated: bool) -> list[Fleet]:
        fleets = await self._fleets.visible_to([access.project.id])
        if not include_terminated:
            fleets = [fleet for fleet in fleets if fleet.status is not FleetStatus.TERMINATED]
        return await self._described(access.user, fleets)

    async def get_fleet(self, access: ProjectAccess, name: str) -> Fleet:
        return (await self._described(access.user, [await self._find(access, name, "name")]))[0]

    async def list_instances(self, caller: User, request: ListInstancesRequest) -> list[Instance]:
        projects = {project.name: project.id for project, _ in await self._accounts.list_projects(caller)}
        wanted = request.project_names if request.project_names is not None else list(projects)
        missing = [name for name in wanted if name not in projects]
        if missing:
            raise NotFound(f"project_names: project {missing[0]} not found")
        fleets = await self._fleets.visible_to([projects[name] for name in wanted])
        if request.fleet_names is not None:
            fleets = [fleet for fleet in fleets if fleet.name in set(request.fleet_names)]
        instances = [instance for fleet in await self._described(caller, fleets) for instance in fleet.instances]
        if not request.include_terminated:
            instances = [instance for instance in instances if instance.status is not InstanceStatus.TERMINATED]
        return instances

    # -- applying and deleting --------------------------------------------------------------------

    async def apply(self, access: ProjectAccess, spec: FleetSpec) -> Fleet:
        self._check_may_manage(access)
        configuration = _parse(spec.configuration)
        if self._fleets.is_sqlite:
            raise ApiError(400, f"{_SPEC}.ssh_config: {SQLITE_REFUSAL}", f"{_SPEC}.ssh_config")
        _check_keys(configuration)
        existing = await self._fleets.get(configuration.name)
        if existing is not None and existing.is_ssh and existing.project_id == access.project.id \
                and existing.status in (FleetStatus.SUBMITTED, FleetStatus.ACTIVE) and existing.spec is not None:
            _check_same_hosts(configuration, parse_fleet_configuration(existing.spec))
        try:
            fleet = await self._fleets.apply_ssh_fleet(
                project_id=access.project.id, name=configuration.name,
                spec=configuration.model_dump(mode="json", exclude_none=True),
                hostnames=[host.hostname for host in configuration.ssh_config.hosts])
        except FleetConflict as conflict:
            raise Conflict(str(conflict)) from None
        await self._signal(fleet, APPLY_SIGNAL, FleetWorkflowInput(fleet_id=fleet.id, fleet_name=fleet.name),
                           f"SSH fleet {fleet.name} of project {access.project.name}")
        log.info("ssh fleet applied", fleet=fleet.name, project=access.project.name, by=access.user.name,
                 hosts=len(configuration.ssh_config.hosts))
        return await self.get_fleet(access, fleet.name)

    async def delete(self, access: ProjectAccess, names: Sequence[str]) -> list[Fleet]:
        """Every name is checked before any fleet is touched."""
        self._check_may_manage(access)
        fleets = [await self._find(access, name, "names") for name in dict.fromkeys(names)]
        for fleet in fleets:
            if not fleet.is_ssh:
                raise ApiError(409, f"names: fleet {fleet.name} is a fleet of workers that joined it by name; stop "
                                    f"those workers (DURASTACK_FLEET={fleet.name}) to remove its hosts", "names")
        for fleet in fleets:
            if fleet.status is FleetStatus.TERMINATED:
                continue
            await self._fleets.begin_removal(fleet.id)
            # A fleet whose workflow has ended (one that failed) gets one started for its removal.
            await self._signal(fleet, DELETE_SIGNAL,
                               FleetWorkflowInput(fleet_id=fleet.id, fleet_name=fleet.name, provisioned=True),
                               f"removal of SSH fleet {fleet.name} of project {access.project.name}")
            log.info("ssh fleet deleted", fleet=fleet.name, project=access.project.name, by=access.user.name)
        return await self._described(access.user, [await self._find(access, fleet.name, "names") for fleet in fleets])

    async def _signal(self, fleet: stored.Fleet, signal: str, start_input: FleetWorkflowInput, summary: str) -> None:
        """Signals the fleet's workflow, starting it with `start_input` when it isn't running."""
        try:
            await self._client.start_workflow(
                FLEET_WORKFLOW, start_input, id=fleet_workflow_id(fleet.name, fleet.id), task_queue=self._task_queue,
                start_signal=signal, static_summary=summary, rpc_timeout=START_TIMEOUT)
        except RPCError as error:
            log.warning("fleet workflow not reached", fleet=fleet.name, signal=signal, error=str(error))
            raise ApiError(503, f"the Temporal server did not take the fleet's {signal}: {error}; try again") from None

    def _check_may_manage(self, access: ProjectAccess) -> None:
        if not access.actor.manages_project:
            raise Forbidden("forbidden: only project admins and managers may create or delete fleets")

    async def _find(self, access: ProjectAccess, name: str, field: str) -> stored.Fleet:
        fleet = await self._fleets.get(name)
        if fleet is None or fleet.project_id not in (None, access.project.id):
            raise ApiError(404, f"{field}: fleet {name} not found in project {access.project.name}", field)
        return fleet

    # -- shaping ----------------------------------------------------------------------------------

    async def _described(self, caller: User, fleets: Sequence[stored.Fleet]) -> list[Fleet]:
        project_names = {project.id: project.name for project, _ in await self._accounts.list_projects(caller)}
        hosts = await self._fleets.hosts_of([fleet.id for fleet in fleets])
        return [_fleet(fleet, hosts.get(fleet.id, []), project_names) for fleet in fleets]


def _parse(configuration: object) -> FleetConfiguration:
    try:
        return parse_fleet_configuration(configuration)
    except ConfigurationError as error:
        field = ".".join(filter(None, [_SPEC, error.field]))
        raise ApiError(400, f"{field}: {error.message}", field) from None


def _check_keys(configuration: FleetConfiguration) -> None:
    """Each key is read here, so that a bad one is a 400 naming it rather than a failed host."""
    ssh = configuration.ssh_config
    keys = [("ssh_config.ssh_key.private", ssh.ssh_key)]
    keys += [(f"ssh_config.hosts.{index}.ssh_key.private", host.ssh_key) for index, host in enumerate(ssh.hosts)]
    for field, key in keys:
        if key is None:
            continue
        try:
            asyncssh.import_private_key(key.private)
        except (asyncssh.KeyImportError, ValueError) as error:
            raise ApiError(400, f"{_SPEC}.{field}: not a usable private key ({error}); encrypted keys are not "
                                "supported", f"{_SPEC}.{field}") from None


def _check_same_hosts(new: FleetConfiguration, old: FleetConfiguration) -> None:
    addresses = [(host.hostname, host.port, host.user) for host in new.hosts()]
    if addresses != [(host.hostname, host.port, host.user) for host in old.hosts()]:
        raise Conflict(f"fleet {new.name} has other hosts; delete it first (durastack fleet delete {new.name}), "
                       "then apply it again")


def _fleet(fleet: stored.Fleet, hosts: list[HostHoldings], project_names: dict[str, str]) -> Fleet:
    configuration = None
    if fleet.spec is not None:
        try:
            configuration = parse_fleet_configuration(fleet.spec).without_keys()
        except ConfigurationError:  # checked at apply; a row edited by hand shows without it
            configuration = None
    return Fleet(id=fleet.id, name=fleet.name, project_name=project_names.get(fleet.project_id or ""),
                 type="ssh" if fleet.is_ssh else "workers", status=fleet.status, status_message=fleet.status_message,
                 created_at=fleet.created_at, configuration=configuration,
                 instances=[_instance(fleet, host, project_names) for host in hosts])


def _instance(fleet: stored.Fleet, host: HostHoldings, project_names: dict[str, str]) -> Instance:
    gpus = [InstanceGpu.model_validate(gpu) for gpu in host.gpus]
    used_gpus = set(host.used_gpu_indices)
    prefix = f"{fleet.name}-"
    number = host.id.removeprefix(prefix)
    return Instance(
        id=host.id, name=host.name, fleet_id=fleet.id, fleet_name=fleet.name,
        project_name=project_names.get(fleet.project_id or ""),
        instance_num=int(number) if fleet.is_ssh and host.id.startswith(prefix) and number.isdigit() else None,
        backend=stored.SSH_BACKEND if fleet.is_ssh else host.backend_type, status=host.status,
        resources=InstanceResources(cpus=host.cpu_milli / 1000, memory_mb=host.memory_mb, gpus=gpus),
        free=InstanceResources(cpus=max(0, host.cpu_milli - host.used_cpu_milli) / 1000,
                               memory_mb=max(0, host.memory_mb - host.used_memory_mb),
                               gpus=[gpu for gpu in gpus if gpu.index not in used_gpus]),
        price=host.price_per_hour, created=host.registered_at, last_seen_at=host.last_seen_at,
        jobs=[InstanceJob(project_name=project_names[job.project_id], run_name=job.run_name, run_id=job.run_id,
                          replica_num=job.replica_num, submission_num=job.submission_num,
                          submission_id=job.submission_id)
              for job in host.jobs if job.project_id in project_names])
