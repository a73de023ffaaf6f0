"""The state a RunWorkflow owns: replicas, their job submissions, run status and events.

Everything here is pure: the workflow drives it with times from `workflow.now()`, so the
same inputs always give the same state (replay-safe), and unit tests can drive it directly.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.configuration import RunConfiguration
from core.statuses import JobStatus, JobTerminationReason, RunStatus, RunTerminationReason

MAX_EVENTS = 200


class RunEvent(BaseModel):
    timestamp: datetime
    message: str
    replica_num: int | None = None
    submission_num: int | None = None


class JobSubmission(BaseModel):
    """One attempt at running one replica. Never rewritten by a later attempt."""

    id: str
    replica_num: int
    submission_num: int
    status: JobStatus = JobStatus.SUBMITTED
    status_message: str = ""
    termination_reason: JobTerminationReason | None = None
    exit_code: int | None = None
    host_id: str | None = None
    host_name: str | None = None
    instance_id: str | None = None
    pid: int | None = None
    price_per_hour: float = 0.0
    task_queue: str | None = None  # its host's queue, once it has an instance
    gpu_indices: list[int] = Field(default_factory=list)  # the host's GPUs it holds
    submitted_at: datetime
    not_before: datetime | None = None  # a retry waits until then before it asks for capacity
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # The termination sent to its process, and when: a run that continues as new sends it again
    # with what is left of the grace period.
    stop_sent: Literal["graceful", "abort"] | None = None
    stop_sent_at: datetime | None = None
    # A service replica's address (its host's advertised address, and the port it was given, as
    # PORT), whether it takes requests now (its probes pass), and the deployment it runs.
    address: str | None = None
    port: int | None = None
    ready: bool = False
    deployment_num: int = 0

    def cost(self, now: datetime) -> float:
        """Price per hour times the time on an instance; stops at the finish time."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at or now
        return self.price_per_hour * max(0.0, (end - self.started_at).total_seconds()) / 3600


class Replica(BaseModel):
    replica_num: int
    submissions: list[JobSubmission] = Field(default_factory=list)
    # Set when this replica alone is being stopped (scale-down); cleared when it is reused.
    stop_reason: JobTerminationReason | None = None
    # Its current series of attempts: when it began (retry.duration counts from there) and how
    # many retries it has had (the backoff grows with them).
    attempts_since: datetime | None = None
    retries: int = 0

    @property
    def current(self) -> JobSubmission:
        return self.submissions[-1]


class PreviousDeployment(BaseModel):
    """What a rolling update replaces, kept until it is done: a failed one goes back to it."""

    configuration: RunConfiguration
    code_hash: str | None = None
    deployment_num: int


class StopRequest(BaseModel):
    abort: bool = False
    reason: RunTerminationReason = RunTerminationReason.STOPPED_BY_USER


class RunState(BaseModel):
    """Everything the API shows about a live run; `version` grows with every change."""

    run_id: str
    run_name: str
    project: str
    user: str
    workflow_id: str
    configuration: RunConfiguration
    code_hash: str | None = None  # the uploaded code its jobs take along (sha256 of the archive)
    status: RunStatus = RunStatus.SUBMITTED
    status_message: str = ""
    termination_reason: RunTerminationReason | None = None
    desired_replicas: int
    replicas: list[Replica] = Field(default_factory=list)
    stop: StopRequest | None = None
    events: list[RunEvent] = Field(default_factory=list)
    submitted_at: datetime
    started_at: datetime | None = None  # when a replica first ran: max_duration counts from here
    finished_at: datetime | None = None
    version: int = 0
    # What continuing as new left behind: finished submissions move to the database (the
    # projection's job_submissions), and their cost is kept here.
    compacted_cost: float = 0.0
    executions: int = 1
    # The deployment new replicas run (each rolling update of a service makes one, numbered from
    # `deployments`; a failed one gives way to the one before), and the one it replaces meanwhile.
    deployment_num: int = 0
    deployments: int = 0
    previous_deployment: PreviousDeployment | None = None

    # -- reading --------------------------------------------------------------------------------

    def replica(self, replica_num: int) -> Replica:
        for replica in self.replicas:
            if replica.replica_num == replica_num:
                return replica
        raise KeyError(replica_num)

    def submission(self, submission_id: str) -> JobSubmission:
        for replica in self.replicas:
            for submission in replica.submissions:
                if submission.id == submission_id:
                    return submission
        raise KeyError(submission_id)

    def current_submissions(self) -> list[JobSubmission]:
        return [replica.current for replica in self.replicas if replica.submissions]

    def running_replicas(self) -> int:
        return sum(1 for s in self.current_submissions() if s.status == JobStatus.RUNNING)

    def serving_submissions(self) -> list[JobSubmission]:
        """The replicas that take new requests: running, ready, and not being stopped (a replica
        scaled down or replaced drains: it leaves this list before it is terminated)."""
        if self.stop is not None or self.status.is_finished:
            return []
        return [replica.current for replica in self.replicas
                if replica.submissions and replica.stop_reason is None and replica.current.ready
                and replica.current.status == JobStatus.RUNNING and replica.current.port is not None]

    def cost_per_hour(self) -> float:
        """What the run costs right now: the prices of the submissions holding an instance."""
        return sum(s.price_per_hour for s in self.current_submissions()
                   if s.started_at is not None and s.finished_at is None)

    def cost(self, now: datetime) -> float:
        return self.compacted_cost + sum(s.cost(now) for r in self.replicas for s in r.submissions)

    def compacted(self, now: datetime, stored: Collection[str] | None = None) -> tuple[RunState, list[JobSubmission]]:
        """The state a run continues as new with: each replica keeps only its latest submission
        (the only one that can be live), so the state stays bounded however old the run is; and
        the submissions that leave it, for the database. With `stored`, only those submissions
        leave (the others are kept until they are stored too)."""
        state = self.model_copy(deep=True)
        leaving: list[JobSubmission] = []
        for replica in state.replicas:
            earlier, latest = replica.submissions[:-1], replica.submissions[-1:]
            going = [s for s in earlier if stored is None or s.id in stored]
            leaving += going
            replica.submissions = [s for s in earlier if s not in going] + latest
        state.compacted_cost += sum(submission.cost(now) for submission in leaving)
        state.executions += 1
        state.version += 1  # its projection write must win over any of the same changes
        return state, leaving

    def projection_key(self) -> tuple[object, ...]:
        """What lists show. The projection is rewritten when this changes (and at the end),
        not on every event: between changes, a snapshot's cost can be computed at read time."""
        return (self.status, self.status_message, self.termination_reason, self.desired_replicas,
                self.running_replicas(), sum(len(r.submissions) for r in self.replicas), self.stop,
                tuple(s.id for s in self.serving_submissions()), self.deployment_num)

    # -- changing -------------------------------------------------------------------------------

    def record(self, now: datetime, message: str, submission: JobSubmission | None = None) -> None:
        self.events.append(RunEvent(
            timestamp=now, message=message,
            replica_num=submission.replica_num if submission else None,
            submission_num=submission.submission_num if submission else None,
        ))
        del self.events[:-MAX_EVENTS]
        self.version += 1

    def add_submission(self, submission_id: str, replica_num: int, now: datetime) -> JobSubmission:
        try:
            replica = self.replica(replica_num)
        except KeyError:
            replica = Replica(replica_num=replica_num)
            self.replicas.append(replica)
            self.replicas.sort(key=lambda r: r.replica_num)
        number = replica.submissions[-1].submission_num + 1 if replica.submissions else 0
        submission = JobSubmission(id=submission_id, replica_num=replica_num, submission_num=number,
                                   submitted_at=now, deployment_num=self.deployment_num)
        replica.submissions.append(submission)
        self.record(now, f"replica {replica_num} submission {submission.submission_num} submitted", submission)
        return submission

    def set_job_status(self, submission: JobSubmission, status: JobStatus, now: datetime,
                       message: str = "") -> None:
        """Moves a submission forward; a status never goes backwards."""
        if submission.status.is_finished or status.rank < submission.status.rank:
            return
        if submission.status == status and submission.status_message == message:
            return
        submission.status = status
        submission.status_message = message
        if status == JobStatus.RUNNING and submission.started_at is None:
            submission.started_at = now
            self.started_at = self.started_at or now
        detail = f": {message}" if message else ""
        self.record(now, f"replica {submission.replica_num} {status.value}{detail}", submission)

    def finish_job(self, submission: JobSubmission, reason: JobTerminationReason, now: datetime,
                   exit_code: int | None = None, message: str = "") -> None:
        if submission.status.is_finished:
            return
        submission.status = reason.to_job_status()
        submission.termination_reason = reason
        submission.exit_code = exit_code
        submission.status_message = message
        submission.finished_at = now
        code = f" (exit code {exit_code})" if exit_code is not None else ""
        self.record(now, f"replica {submission.replica_num} {submission.status.value}: {reason.value}{code}",
                    submission)

    def set_run_status(self, status: RunStatus, now: datetime, message: str = "") -> None:
        if self.status.is_finished or (self.status == status and self.status_message == message):
            return
        changed = self.status != status
        self.status = status
        self.status_message = message
        if changed:
            self.record(now, f"run {status.value}" + (f": {message}" if message else ""))
        else:
            self.version += 1

    def finish_run(self, reason: RunTerminationReason, now: datetime, message: str = "") -> None:
        if self.status.is_finished:
            return
        self.status = reason.to_run_status()
        self.termination_reason = reason
        self.status_message = message
        self.finished_at = now
        self.record(now, f"run {self.status.value}: {reason.value}")


def how_it_ended(submission: JobSubmission) -> str:
    """"exit code 3", else its termination reason, with its status message when it has one."""
    if submission.exit_code is not None:
        how = f"exit code {submission.exit_code}"
    else:
        how = submission.termination_reason.value if submission.termination_reason else "failed"
    return f"{how}: {submission.status_message}" if submission.status_message else how


def failure_message(submissions: Iterable[JobSubmission]) -> str:
    """What failed, for a failed run whose workflow left its status message empty: the replica that
    failed last and how ("replica 0 failed: exit code 3"); "" when none of them failed. Computed
    when the run is read, so that it needs no change of the workflow (and old runs read the same)."""
    failed = [s for s in submissions if s.status == JobStatus.FAILED]
    last = max(failed, key=lambda s: (s.finished_at or s.submitted_at, s.submission_num), default=None)
    if last is None:
        return ""
    attempt = f" (submission {last.submission_num})" if last.submission_num else ""
    return f"replica {last.replica_num}{attempt} failed: {how_it_ended(last)}"


def shown_status_message(status: RunStatus, message: str, submissions: Iterable[JobSubmission]) -> str:
    """The run's status message as the API shows it: a failed run without one says what failed."""
    if message or status != RunStatus.FAILED:
        return message
    return failure_message(submissions)


def derive_run_status(state: RunState, *, keep_when_idle: bool = False) -> tuple[RunStatus, str]:
    """The run's live status from its replicas' current submissions (before it finishes). With
    `keep_when_idle`, a run whose replicas have all ended and that is about to finish (or retry)
    keeps its status instead of falling back to `submitted`."""
    current = [s for s in state.current_submissions() if not s.status.is_finished]
    if state.stop is not None:
        return RunStatus.TERMINATING, ""
    if not current and state.desired_replicas == 0:
        return RunStatus.RUNNING, "scaled to zero replicas"
    if not current and keep_when_idle:
        return state.status, state.status_message
    statuses = {s.status for s in current}
    if JobStatus.RUNNING in statuses:
        return RunStatus.RUNNING, ""
    if statuses & {JobStatus.PROVISIONING, JobStatus.PULLING}:
        return RunStatus.PROVISIONING, ""
    waiting = [s for s in current if s.status_message]
    if waiting:
        return RunStatus.PENDING, waiting[0].status_message
    return RunStatus.SUBMITTED, ""

