"""Stand-ins for RunWorkflow's activities, for fast workflow tests in Temporal's time-skipping
environment: one host of fixed capacity whose replicas run as long as the test says, in memory.

Only workflow behaviour is under test with these; the real activities have tests of their own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from temporalio import activity

from activities import names
from core.jobs import (
    Instance,
    JobSpec,
    ProbeRequest,
    ProjectionUpdate,
    ProvisionRequest,
    ProvisionResult,
    ReleaseRequest,
    ReplicaExit,
    StartedReplica,
    TerminateRequest,
    WatchRequest,
)
from core.run_state import JobSubmission, RunState
from core.units import format_memory
from workflows.messages import READINESS_SIGNAL, ReplicaReadiness

HOST_QUEUE = "stub-host"


@dataclass
class StubHost:
    """A host with `cpu_milli` of capacity. A started replica runs until it is terminated, unless
    `exit_code_of` gives it an exit code, in which case it exits at once with it."""

    cpu_milli: int = 4000
    task_queue: str = HOST_QUEUE  # where the workflow sends its host activities
    exit_code_of: Callable[[WatchRequest], int | None] = lambda _: None
    ready_of: Callable[[ProbeRequest], bool] = lambda _: True  # what a service replica's prober finds
    allocations: dict[str, int] = field(default_factory=dict)  # submission → cpu_milli
    released: set[str] = field(default_factory=set)
    starts: list[str] = field(default_factory=list)
    specs: dict[str, JobSpec] = field(default_factory=dict)  # what each submission was started with
    watches: list[str] = field(default_factory=list)
    terminations: list[TerminateRequest] = field(default_factory=list)
    projections: list[RunState] = field(default_factory=list)
    stored_submissions: dict[str, JobSubmission] = field(default_factory=dict)
    _exits: dict[str, asyncio.Future[int]] = field(default_factory=dict)
    _freed: asyncio.Event = field(default_factory=asyncio.Event)

    def activities(self) -> list[Callable[..., object]]:
        return [self.provision_instance, self.wait_for_instance, self.release_instance, self.write_projection,
                self.start_replica, self.watch_replica, self.terminate_replica, self.probe_replica]

    @property
    def latest(self) -> RunState:
        return self.projections[-1]

    def every_submission(self) -> dict[str, JobSubmission]:
        """What the API shows: the submissions stored on their own, then those in the latest state."""
        state = {s.id: s for replica in self.latest.replicas for s in replica.submissions}
        return {**self.stored_submissions, **state}

    def exit(self, submission_id: str, code: int) -> None:
        """Makes a running replica exit, as its process would."""
        self._exit_future(submission_id).set_result(code)

    def _exit_future(self, submission_id: str) -> asyncio.Future[int]:
        return self._exits.setdefault(submission_id, asyncio.get_running_loop().create_future())

    def _free(self) -> int:
        return self.cpu_milli - sum(self.allocations.values())

    @activity.defn(name=names.PROVISION_INSTANCE)
    async def provision_instance(self, request: ProvisionRequest) -> ProvisionResult:
        if request.submission_id in self.released:
            return ProvisionResult(reason="this submission was released", released=True)
        if request.submission_id not in self.allocations:
            wanted = f"{request.cpu_milli / 1000:g} CPU, {format_memory(request.memory_mb)}"
            if request.cpu_milli > self.cpu_milli:
                return ProvisionResult(reason=f"no host can ever fit {wanted}", can_ever_fit=False)
            if request.cpu_milli > self._free():
                return ProvisionResult(reason=f"waiting for capacity ({wanted})")
            self.allocations[request.submission_id] = request.cpu_milli
        return ProvisionResult(instance=Instance(id=f"instance-{request.submission_id}",
                                                 submission_id=request.submission_id, host_id="stub",
                                                 host_name="stub", task_queue=self.task_queue, price_per_hour=3.6))

    @activity.defn(name=names.WAIT_FOR_INSTANCE)
    async def wait_for_instance(self, request: ProvisionRequest) -> ProvisionResult:
        while True:
            result = await self.provision_instance(request)
            if result.instance is not None or result.released:
                return result
            self._freed.clear()
            activity.heartbeat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._freed.wait(), 0.2)

    @activity.defn(name=names.RELEASE_INSTANCE)
    async def release_instance(self, request: ReleaseRequest) -> None:
        self.released.add(request.submission_id)
        if self.allocations.pop(request.submission_id, None) is not None:
            self._freed.set()

    @activity.defn(name=names.WRITE_PROJECTION)
    async def write_projection(self, update: ProjectionUpdate) -> None:
        if update.state.status.is_finished:
            for submission_id in [s.id for r in update.state.replicas for s in r.submissions]:
                await self.release_instance(ReleaseRequest(submission_id=submission_id))
        self.stored_submissions.update({s.id: s for s in update.compacted})
        self.projections.append(update.state)

    @activity.defn(name=names.START_REPLICA)
    async def start_replica(self, job: JobSpec) -> StartedReplica:
        self.starts.append(job.submission_id)
        self.specs[job.submission_id] = job
        port = None if job.port is None else job.port + job.replica_num  # each a port of its own
        return StartedReplica(pid=1000 + len(self.starts), port=port, address="127.0.0.1" if port else None)

    @activity.defn(name=names.PROBE_REPLICA)
    async def probe_replica(self, request: ProbeRequest) -> None:
        """Tells the run its replica's readiness once (when it differs), then waits to be cancelled."""
        ready = self.ready_of(request)
        if ready != request.ready:
            await activity.client().get_workflow_handle(request.workflow_id).signal(
                READINESS_SIGNAL, ReplicaReadiness(submission_id=request.submission_id, ready=ready))
        while True:
            activity.heartbeat()
            await asyncio.sleep(1)

    @activity.defn(name=names.WATCH_REPLICA)
    async def watch_replica(self, request: WatchRequest) -> ReplicaExit:
        self.watches.append(request.submission_id)
        code = self.exit_code_of(request)
        if code is not None:
            return ReplicaExit(exit_code=code)
        exited = self._exit_future(request.submission_id)
        while not exited.done():
            activity.heartbeat()
            await asyncio.wait([exited], timeout=1)
        return ReplicaExit(exit_code=exited.result())

    @activity.defn(name=names.TERMINATE_REPLICA)
    async def terminate_replica(self, request: TerminateRequest) -> None:
        self.terminations.append(request)
        exited = self._exit_future(request.submission_id)
        if not exited.done():
            exited.set_result(137 if request.abort else 143)
