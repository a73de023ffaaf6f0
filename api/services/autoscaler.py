"""The autoscaler of services with `scaling`: a loop in every API process, of which one decides.

Every TICK_SECONDS the process that holds the leader lock (store/leader_lock.py) reads the active
services with `scaling` from the projection, their requests over each one's window from the
traffic table (every API process's counts), decides (core/autoscaling.py) and sends the change
through the same path as a user's scale: the workflow's scale update, with the decision as its
reason, so it is the run's event, in its history and in the Temporal console.

When a service last scaled comes from the run's events in the projection, which survive a
restart, a new leader and continue-as-new alike; the leader also remembers its own decisions for
the moment until the projection shows them. `wake` (0 → 1 at once, for a request the proxy holds)
works in any API process.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import Client

from api.services.periodic import every
from api.services.run_messages import ScaleRefused, query_run_state, scale_run
from core.autoscaling import WAKE_REASON, LastScale, ScaleDecision, decide, last_scale_from_events, wanted_replicas
from store.autoscaled_runs import AutoscaledRun, AutoscaledRuns
from store.leader_lock import LeaderLock
from store.traffic import TrafficStore
from workflows.messages import ScaleCommand

log = structlog.get_logger(__name__)

TICK_SECONDS = 2.0
# The seconds still being counted or written: this one, and the one before (each process writes
# its counts every second). The window ends before them, so it holds only complete seconds.
UNSETTLED_SECONDS = 2
PRUNE_EVERY_SECONDS = 30.0
# The longest any rule looks back: scale_down_delay (at most a day); older seconds are dropped.
FORGET_AFTER_SECONDS = 86400 + 60
# The leader's own decision counts as the desired replicas until the projection shows it, at most
# this long (after that, a projection that differs was changed by someone else).
PROJECTION_CATCH_UP_SECONDS = 10.0
# Many requests held for one service call `wake` at once, and more follow while its replica starts.
WAKE_MEMORY_SECONDS = 5.0
QUERY_TIMEOUT = timedelta(seconds=5)
SCALES_IN_FLIGHT = 16
# Any constant works: it only has to be the same in every API process (migrations use 7_303_431).
LEADER_LOCK_KEY = 7_303_432


class WakeFailed(Exception):
    """The service could not be scaled up: Temporal or its worker did not answer."""


@dataclass(frozen=True)
class _Decided:
    replicas: int
    at: datetime
    woken: bool


class Autoscaler:
    def __init__(self, runs: AutoscaledRuns, traffic: TrafficStore, client: Client, lock: LeaderLock) -> None:
        self._runs = runs
        self._traffic = traffic
        self._client = client
        self._lock = lock
        self._decided: dict[str, _Decided] = {}  # run id → this process's last change of it
        # run id → (projection version, its last scale): a run that waits out a delay is read once
        self._last_scales: dict[str, tuple[int, LastScale]] = {}
        self._waking: dict[str, asyncio.Task[None]] = {}
        self._woken: dict[str, float] = {}  # run id → monotonic time of its last wake here
        self._pruned_at = 0.0

    # -- waking from zero ---------------------------------------------------------------------------

    async def wake(self, run_id: str) -> None:
        """Scales the service run `run_id` from zero to one replica, at once, with the event
        "autoscaler: 0 → 1 (a request is waiting)". Nothing happens when it has replicas already,
        is not an active service with `scaling`, or is stopping; calls for the same run share one
        attempt, and for WAKE_MEMORY_SECONDS after it return at once. Raises WakeFailed when the
        run's workflow can't be reached."""
        woken = self._woken.get(run_id)
        if woken is not None and time.monotonic() - woken < WAKE_MEMORY_SECONDS:
            return
        task = self._waking.get(run_id)
        if task is None:
            task = asyncio.create_task(self._wake(run_id))
            self._waking[run_id] = task
            task.add_done_callback(lambda done: self._wake_done(run_id, done))
        await asyncio.shield(task)  # a held request that gives up doesn't cancel the others' wake

    def _wake_done(self, run_id: str, task: asyncio.Task[None]) -> None:
        self._waking.pop(run_id, None)
        now = time.monotonic()
        self._woken = {run: at for run, at in self._woken.items() if now - at < WAKE_MEMORY_SECONDS}
        if not task.cancelled() and task.exception() is None:
            self._woken[run_id] = now

    async def _wake(self, run_id: str) -> None:
        run = await self._runs.by_id(run_id)
        if run is None:
            return
        bound = log.bind(run_id=run.id, run_name=run.run_name)
        state = await query_run_state(self._client, run.workflow_id, QUERY_TIMEOUT)
        if state is None:
            raise WakeFailed(f"run {run.run_name} did not answer")
        if state.desired_replicas > 0:
            return  # someone woke it already
        try:
            await scale_run(self._client, run.workflow_id, ScaleCommand(replicas=1, reason=WAKE_REASON))
        except ScaleRefused as refusal:  # it is stopping, or finished meanwhile
            bound.info("service not woken", reason=str(refusal))
            return
        except Exception as error:
            bound.warning("could not wake the service", error=str(error))
            raise WakeFailed(f"run {run.run_name} could not be scaled up: {error}") from None
        self._decided[run.id] = _Decided(replicas=1, at=datetime.now(UTC), woken=True)
        bound.info("service woken: 0 → 1 replica for a waiting request")

    # -- the decider ----------------------------------------------------------------------------

    async def decide_forever(self) -> None:
        try:
            await every(TICK_SECONDS, self.tick, "autoscaler round failed")
        finally:
            await self._lock.release()

    async def tick(self) -> list[ScaleDecision]:
        """One round, if this process is the one that decides; returns the changes it made."""
        if not await self._lock.held():
            return []
        now = datetime.now(UTC)
        runs = await self._runs.active()
        self._decided = {run.id: self._decided[run.id] for run in runs if run.id in self._decided}
        self._last_scales = {run.id: self._last_scales[run.id] for run in runs if run.id in self._last_scales}
        end = int(now.timestamp()) - UNSETTLED_SECONDS + 1
        windows = {run.id: math.ceil(run.scaling.window_seconds) for run in runs}
        counts = await self._traffic.requests({run.id: end - windows[run.id] for run in runs}, end)
        latest = await self._traffic.latest_buckets(windows)
        await self._prune(end, max(windows.values(), default=0))

        planned: list[tuple[AutoscaledRun, ScaleDecision]] = []
        for run in runs:
            rps = counts.get(run.id, 0) / windows[run.id]
            last_request_at = datetime.fromtimestamp(latest[run.id] + 1, UTC) if run.id in latest else None
            current = self._current(run, now)
            if wanted_replicas(run.configuration.replicas, run.scaling, rps, last_request_at, now) == current:
                continue  # the common case, decided without reading the run's events
            decision = decide(current=current, replicas=run.configuration.replicas, scaling=run.scaling, rps=rps,
                              last_request_at=last_request_at, last_scale=await self._last_scale(run, now), now=now)
            if decision is not None:
                planned.append((run, decision))
        limit = asyncio.Semaphore(SCALES_IN_FLIGHT)

        async def send(run: AutoscaledRun, decision: ScaleDecision) -> ScaleDecision | None:
            async with limit:
                return decision if await self._send(run, decision) else None

        sent = await asyncio.gather(*(send(run, decision) for run, decision in planned))
        return [decision for decision in sent if decision is not None]

    def _not_yet_projected(self, run: AutoscaledRun, now: datetime) -> _Decided | None:
        """This process's last change of the run, while the projection doesn't show it yet (the
        projection writes the desired count and the change's event together)."""
        decided = self._decided.get(run.id)
        if decided is not None and decided.replicas != run.desired_replicas \
                and (now - decided.at).total_seconds() < PROJECTION_CATCH_UP_SECONDS:
            return decided
        return None

    def _current(self, run: AutoscaledRun, now: datetime) -> int:
        decided = self._not_yet_projected(run, now)
        return decided.replicas if decided is not None else run.desired_replicas

    async def _last_scale(self, run: AutoscaledRun, now: datetime) -> LastScale:
        decided = self._not_yet_projected(run, now)
        if decided is not None:  # a wake's replica can't be ready yet
            return LastScale(at=decided.at, woken=decided.woken)
        cached = self._last_scales.get(run.id)
        if cached is not None and cached[0] == run.version:
            return cached[1]
        last_scale = last_scale_from_events(await self._runs.events(run.id), run.submitted_at)
        self._last_scales[run.id] = (run.version, last_scale)
        return last_scale

    async def _send(self, run: AutoscaledRun, decision: ScaleDecision) -> bool:
        bound = log.bind(run_id=run.id, run_name=run.run_name)
        try:
            await scale_run(self._client, run.workflow_id,
                            ScaleCommand(replicas=decision.replicas, reason=decision.reason))
        except ScaleRefused as refusal:  # stopping, or rolling out a deployment: the next round sees
            bound.info("autoscaler's scale refused", replicas=decision.replicas, reason=str(refusal))
            return False
        except Exception as error:
            bound.warning("autoscaler's scale failed; the next round tries again", replicas=decision.replicas,
                          error=str(error))
            return False
        self._decided[run.id] = _Decided(replicas=decision.replicas, at=datetime.now(UTC), woken=False)
        bound.info("autoscaled", replicas=decision.replicas, reason=decision.reason)
        return True

    async def _prune(self, end: int, longest_window: int) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        pruned = await self._traffic.prune(keep_since=end - max(longest_window, 60),
                                           forget_before=end - FORGET_AFTER_SECONDS)
        if pruned:
            log.debug("request counts pruned", rows=pruned)
