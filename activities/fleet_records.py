"""The database side of the fleet workflow: which hosts it has, what came of setting them up, which
are silent, and the steps of removing a fleet. The short ones run as local activities; the two
waits poll the database once a second while they heartbeat."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.configuration import ConfigurationError
from core.fleet_configuration import parse_fleet_configuration
from core.statuses import HostState
from store.fleets import Fleet, FleetStore, ssh_host_id
from workflows.fleet_messages import (
    BEGIN_FLEET_REMOVAL,
    FINISH_FLEET_REMOVAL,
    FLEET_HOSTS,
    RECORD_PROVISIONING,
    SET_FLEET_MESSAGE,
    SILENT_HOSTS,
    WAIT_FOR_FLEET_RELEASE,
    WAIT_FOR_HOSTS_TO_JOIN,
    FleetHost,
    FleetMessage,
    FleetRemoval,
    JoinWait,
    ProvisioningOutcome,
)

POLL_SECONDS = 1.0


class FleetRecordActivities:
    def __init__(self, fleets: FleetStore) -> None:
        self._fleets = fleets

    @activity.defn(name=FLEET_HOSTS)
    async def fleet_hosts(self, fleet_id: str) -> list[FleetHost]:
        """The hosts of the fleet's configuration, in order."""
        fleet = await self._fleet(fleet_id)
        return [FleetHost(fleet_id=fleet.id, host_id=ssh_host_id(fleet.name, index), index=index)
                for index in range(_host_count(fleet))]

    @activity.defn(name=RECORD_PROVISIONING)
    async def record_provisioning(self, outcome: ProvisioningOutcome) -> None:
        await self._fleets.record_provisioning(
            outcome.fleet_id, started=[setup.host_id for setup in outcome.setups if setup.started],
            failed=[setup.host_id for setup in outcome.setups if not setup.started],
            messages={setup.host_id: setup.message for setup in outcome.setups if setup.message})

    @activity.defn(name=SET_FLEET_MESSAGE)
    async def set_fleet_message(self, message: FleetMessage) -> None:
        await self._fleets.set_status_message(message.fleet_id, message.message)

    @activity.defn(name=WAIT_FOR_HOSTS_TO_JOIN)
    async def wait_for_hosts_to_join(self, wait: JoinWait) -> list[str]:
        """The hosts whose workers have joined (their host is active) by the timeout."""
        deadline = asyncio.get_running_loop().time() + wait.timeout_seconds
        while True:
            joined = set(await self._fleets.hosts_in(wait.fleet_id, [HostState.ACTIVE])) & set(wait.host_ids)
            if len(joined) == len(set(wait.host_ids)) or asyncio.get_running_loop().time() >= deadline:
                return sorted(joined)
            activity.heartbeat()
            await asyncio.sleep(POLL_SECONDS)

    @activity.defn(name=SILENT_HOSTS)
    async def silent_hosts(self, fleet_id: str) -> list[FleetHost]:
        """Hosts the host monitor found silent: the only ones worth an SSH look."""
        fleet = await self._fleet(fleet_id)
        return _fleet_hosts(fleet, await self._fleets.hosts_in(fleet_id, [HostState.UNREACHABLE]))

    @activity.defn(name=BEGIN_FLEET_REMOVAL)
    async def begin_fleet_removal(self, fleet_id: str) -> FleetRemoval:
        fleet = await self._fleet(fleet_id)
        hosts = await self._fleets.begin_removal(fleet_id)
        return FleetRemoval(run_workflow_ids=await self._fleets.runs_on(fleet_id), hosts=_fleet_hosts(fleet, hosts))

    @activity.defn(name=WAIT_FOR_FLEET_RELEASE)
    async def wait_for_fleet_release(self, fleet_id: str) -> None:
        """Until no instance holds any of the fleet's hosts (its runs have stopped)."""
        while await self._fleets.holds_instances(fleet_id):
            activity.heartbeat()
            await asyncio.sleep(POLL_SECONDS)

    @activity.defn(name=FINISH_FLEET_REMOVAL)
    async def finish_fleet_removal(self, message: FleetMessage) -> None:
        await self._fleets.finish_removal(message.fleet_id, message.message)

    async def _fleet(self, fleet_id: str) -> Fleet:
        fleet = await self._fleets.by_id(fleet_id)
        if fleet is None:
            raise ApplicationError(f"fleet {fleet_id} does not exist", non_retryable=True)
        return fleet


def _host_count(fleet: Fleet) -> int:
    if fleet.spec is None:
        return 0
    try:
        return len(parse_fleet_configuration(fleet.spec).ssh_config.hosts)
    except ConfigurationError as error:  # checked at apply; a row edited by hand
        raise ApplicationError(f"fleet {fleet.name}: {error}", non_retryable=True) from None


def _fleet_hosts(fleet: Fleet, host_ids: list[str]) -> list[FleetHost]:
    """The hosts among `host_ids` that the fleet's configuration names (so SSH can reach them)."""
    by_id = {ssh_host_id(fleet.name, index): index for index in range(_host_count(fleet))}
    return [FleetHost(fleet_id=fleet.id, host_id=host_id, index=by_id[host_id])
            for host_id in host_ids if host_id in by_id]
