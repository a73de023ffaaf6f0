"""Builds the two workers a machine runs.

The run worker polls the shared queue: RunWorkflow plus the activities that only touch the
database. The host worker polls `durastack-host-<host id>` and runs the replica activities
of the processes that live on this machine.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.capacity import CapacityActivities
from activities.code_archives import CodeArchives
from activities.probes import ProbeActivities
from activities.projection import ProjectionActivities
from activities.remote_worker import RemoteWorkerSettings
from activities.replicas import ReplicaActivities
from activities.ssh_fleet import fleet_workflow_activities
from backends.base import Compute
from store.capacity import Capacity
from store.fleets import FleetStore
from store.logs import LogStore
from store.metrics import MetricsStore
from store.runs import RunStore
from workflows.fleet_workflow import FleetWorkflow
from workflows.run_workflow import RunWorkflow

# Watching is one long activity per live replica (two for a service: its prober), so slots must
# exceed the replicas a host runs.
MAX_HOST_ACTIVITIES = 2000
MAX_RUN_ACTIVITIES = 500
# Runs whose workflow state stays in memory between tasks (about 0.2 MB each). An evicted run is
# replayed from its whole history on its next task; the SDK's default keeps only 1,000.
MAX_CACHED_RUNS = 4000
# On SIGTERM a worker stops taking tasks and gives the activities it runs this long to finish
# (starts, releases, terminations well into their grace period) before it cancels them.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def host_task_queue(host_id: str) -> str:
    return f"durastack-host-{host_id}"


def run_worker(client: Client, task_queue: str, *, runs: RunStore, capacity: Capacity, fleets: FleetStore,
               remote_workers: RemoteWorkerSettings) -> Worker:
    capacity_activities = CapacityActivities(capacity)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RunWorkflow, FleetWorkflow],
        activities=[capacity_activities.provision_instance, capacity_activities.wait_for_instance,
                    capacity_activities.release_instance, ProjectionActivities(runs, capacity).write_projection,
                    *fleet_workflow_activities(fleets, remote_workers)],
        max_concurrent_activities=MAX_RUN_ACTIVITIES,
        max_cached_workflows=MAX_CACHED_RUNS,
        max_concurrent_workflow_task_polls=20,
        # Runs keep no payloads in external storage. With any other bound the SDK visits the payloads
        # of every activation and completion in a task each, about 5% of the CPU of stopping runs.
        max_workflow_task_external_storage_concurrency=1,
        # The sandbox's checks run in CI instead: tests/support/replay.py replays histories of real
        # runs (done, retried, stopped, scaled) in the SDK's default sandbox, which fails on any
        # restricted call in the workflow code. Here it cost about a fifth of the CPU of every stop:
        # each activation, and each payload's serialization context, entered and left it.
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_concurrent_activity_task_polls=10,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
    )


class HostWorker(Worker):
    """The host's worker, which hands its watchers and probes over when it shuts down instead of
    holding the shutdown for its whole grace period: they fail at once, and Temporal retries them on the
    host's next worker from their last offset."""

    def __init__(self, client: Client, compute: Compute, logs: LogStore, metrics: MetricsStore,
                 code: CodeArchives) -> None:
        self.replica_activities = ReplicaActivities(compute, logs, metrics, code)
        self.probe_activities = ProbeActivities()
        super().__init__(
            client,
            task_queue=host_task_queue(compute.offer().host_id),
            activities=[self.replica_activities.start_replica, self.replica_activities.watch_replica,
                        self.replica_activities.terminate_replica, self.probe_activities.probe_replica],
            max_concurrent_activities=MAX_HOST_ACTIVITIES,
            max_concurrent_activity_task_polls=10,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        )

    async def shutdown(self) -> None:
        self.replica_activities.hand_over_watchers()
        self.probe_activities.hand_over()
        await super().shutdown()
