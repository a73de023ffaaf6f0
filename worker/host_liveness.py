"""Host liveness: each host's worker says it is alive, and a monitor ends the replicas of hosts
that stopped saying so.

The bounds (docs/runs-and-jobs.md, "Hosts and liveness"): a host heartbeats every 5 s; one silent
for 30 s is `unreachable`, and within a few seconds its runs are told to end its replicas
(`instance_unreachable`, then their retry policy decides). Unreachable for a day while holding
nothing, it leaves the scheduler's view. A host that speaks again is `active` again.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from store.hosts import HostStore, LostReplica
from workflows.messages import HOST_LOST_SIGNAL, HostLost

log = structlog.get_logger(__name__)

HEARTBEAT_INTERVAL_SECONDS = 5.0
SILENCE_BOUND = timedelta(seconds=30)
MONITOR_INTERVAL_SECONDS = 5.0
PRUNE_AFTER = timedelta(days=1)
# A run told of a lost replica is told again after this long if it still holds its capacity (its
# worker may have been down, or the signal lost with a Temporal restart).
RESIGNAL_AFTER_SECONDS = 60.0


async def heartbeat_forever(hosts: HostStore, host_id: str) -> None:
    """The host's own heartbeat; a failed write is logged and retried at the next beat."""
    bound = log.bind(host_id=host_id)
    while True:
        try:
            if not await hosts.heartbeat(host_id):
                bound.warning("host heartbeat found no active host row (its fleet removed it?)")
        except Exception:
            bound.exception("host heartbeat failed")
        await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)


class HostMonitor:
    """Runs beside every run worker; concurrent monitors agree through conditional updates, and a
    repeated signal changes nothing in a run."""

    def __init__(self, hosts: HostStore, client: Client) -> None:
        self._hosts = hosts
        self._client = client
        self._signalled: dict[str, float] = {}  # submission id → when its run was last told

    async def watch_forever(self) -> None:
        last_prune = 0.0
        while True:
            try:
                await self.check()
                if time.monotonic() - last_prune > 600:
                    last_prune = time.monotonic()
                    for host_id in await self._hosts.prune(PRUNE_AFTER):
                        log.info("host pruned after a long silence", host_id=host_id)
            except Exception:
                log.exception("host monitor check failed")
            await asyncio.sleep(MONITOR_INTERVAL_SECONDS)

    async def check(self) -> None:
        for host_id in await self._hosts.mark_silent_unreachable(SILENCE_BOUND):
            log.warning("host unreachable", host_id=host_id, silent_for_seconds=SILENCE_BOUND.total_seconds())
        lost = await self._hosts.lost_replicas()
        now = time.monotonic()
        due = [replica for replica in lost
               if now - self._signalled.get(replica.submission_id, -RESIGNAL_AFTER_SECONDS) >= RESIGNAL_AFTER_SECONDS]
        by_run: dict[tuple[str, str], list[LostReplica]] = defaultdict(list)
        for replica in due:
            by_run[(replica.workflow_id, replica.host_id)].append(replica)
        for (workflow_id, host_id), replicas in by_run.items():
            await self._tell_run(workflow_id, host_id, replicas)
            for replica in replicas:
                self._signalled[replica.submission_id] = now
        still_lost = {replica.submission_id for replica in lost}
        self._signalled = {key: at for key, at in self._signalled.items() if key in still_lost}

    async def _tell_run(self, workflow_id: str, host_id: str, replicas: list[LostReplica]) -> None:
        lost = HostLost(host_id=host_id, submission_ids=[r.submission_id for r in replicas],
                        silent_seconds=max(r.silent_seconds for r in replicas))
        try:
            await self._client.get_workflow_handle(workflow_id).signal(HOST_LOST_SIGNAL, lost)
        except RPCError as error:  # told again at the next resignal
            log.warning("could not tell a run of its lost replicas", workflow_id=workflow_id, host_id=host_id,
                        not_found=error.status == RPCStatusCode.NOT_FOUND, error=str(error))
            return
        log.info("run told of replicas on a lost host", workflow_id=workflow_id, host_id=host_id,
                 submissions=lost.submission_ids)
