"""Statuses and termination reasons, in dstack's vocabulary."""

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"
    DONE = "done"

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED_RUN_STATUSES


_FINISHED_RUN_STATUSES = {RunStatus.TERMINATED, RunStatus.FAILED, RunStatus.DONE}


class JobStatus(StrEnum):
    SUBMITTED = "submitted"
    PROVISIONING = "provisioning"
    PULLING = "pulling"
    RUNNING = "running"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    ABORTED = "aborted"
    FAILED = "failed"
    DONE = "done"

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED_JOB_STATUSES

    @property
    def rank(self) -> int:
        """Position in the lifecycle; a submission's status never moves to a lower rank."""
        return _JOB_STATUS_RANK[self]


_FINISHED_JOB_STATUSES = {JobStatus.TERMINATED, JobStatus.ABORTED, JobStatus.FAILED, JobStatus.DONE}
_JOB_STATUS_RANK = {
    JobStatus.SUBMITTED: 0,
    JobStatus.PROVISIONING: 1,
    JobStatus.PULLING: 2,
    JobStatus.RUNNING: 3,
    JobStatus.TERMINATING: 4,
    JobStatus.TERMINATED: 5,
    JobStatus.ABORTED: 5,
    JobStatus.FAILED: 5,
    JobStatus.DONE: 5,
}


class RunTerminationReason(StrEnum):
    ALL_JOBS_DONE = "all_jobs_done"
    JOB_FAILED = "job_failed"
    RETRY_LIMIT_EXCEEDED = "retry_limit_exceeded"
    STOPPED_BY_USER = "stopped_by_user"
    ABORTED_BY_USER = "aborted_by_user"
    SERVER_ERROR = "server_error"
    MAX_DURATION_EXCEEDED = "max_duration_exceeded"

    def to_run_status(self) -> RunStatus:
        if self == RunTerminationReason.ALL_JOBS_DONE:
            return RunStatus.DONE
        if self in (RunTerminationReason.JOB_FAILED, RunTerminationReason.RETRY_LIMIT_EXCEEDED,
                    RunTerminationReason.SERVER_ERROR):
            return RunStatus.FAILED
        return RunStatus.TERMINATED


class JobTerminationReason(StrEnum):
    FAILED_TO_START_DUE_TO_NO_CAPACITY = "failed_to_start_due_to_no_capacity"
    TERMINATED_BY_USER = "terminated_by_user"
    ABORTED_BY_USER = "aborted_by_user"
    TERMINATED_BY_SERVER = "terminated_by_server"
    SCALED_DOWN = "scaled_down"
    DONE_BY_RUNNER = "done_by_runner"
    CONTAINER_EXITED_WITH_ERROR = "container_exited_with_error"
    EXECUTOR_ERROR = "executor_error"
    # The replica's runner (later: its whole host) was lost; its processes were stopped.
    INSTANCE_UNREACHABLE = "instance_unreachable"
    MAX_DURATION_EXCEEDED = "max_duration_exceeded"

    def to_job_status(self) -> JobStatus:
        if self == JobTerminationReason.DONE_BY_RUNNER:
            return JobStatus.DONE
        if self == JobTerminationReason.ABORTED_BY_USER:
            return JobStatus.ABORTED
        if self in (JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY,
                    JobTerminationReason.CONTAINER_EXITED_WITH_ERROR,
                    JobTerminationReason.EXECUTOR_ERROR, JobTerminationReason.INSTANCE_UNREACHABLE):
            return JobStatus.FAILED
        return JobStatus.TERMINATED


class FleetStatus(StrEnum):
    SUBMITTED = "submitted"
    ACTIVE = "active"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"


class HostState(StrEnum):
    """What is stored for a host; the instance status the API shows derives from it (and from
    whether the host holds jobs)."""

    PROVISIONING = "provisioning"  # an SSH fleet is setting it up
    ACTIVE = "active"  # its worker heartbeats
    UNREACHABLE = "unreachable"  # silent past the liveness bound
    TERMINATING = "terminating"  # its fleet is being removed
    TERMINATED = "terminated"  # removed, or pruned after a long silence


class InstanceStatus(StrEnum):
    """A host as dstack's instances API names its states."""

    PENDING = "pending"
    PROVISIONING = "provisioning"
    IDLE = "idle"
    BUSY = "busy"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    UNREACHABLE = "unreachable"
