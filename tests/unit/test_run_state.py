from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.configuration import parse_configuration
from core.run_state import RunState, StopRequest, derive_run_status, failure_message, shown_status_message
from core.statuses import JobStatus, JobTerminationReason, RunStatus, RunTerminationReason

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def new_state(replicas: int = 2) -> RunState:
    configuration = parse_configuration({"type": "task", "commands": ["true"], "replicas": replicas})
    return RunState(run_id="r", run_name="n", project="main", user="admin", workflow_id="w",
                    configuration=configuration, desired_replicas=replicas, submitted_at=T0)


def test_a_job_status_never_moves_backwards() -> None:
    state = new_state()
    submission = state.add_submission("s0", 0, T0)
    state.set_job_status(submission, JobStatus.RUNNING, T0)
    state.set_job_status(submission, JobStatus.PROVISIONING, T0)
    assert submission.status == JobStatus.RUNNING
    state.finish_job(submission, JobTerminationReason.DONE_BY_RUNNER, T0, exit_code=0)
    state.set_job_status(submission, JobStatus.RUNNING, T0)
    state.finish_job(submission, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, T0, exit_code=1)
    assert (submission.status, submission.exit_code) == (JobStatus.DONE, 0)


def test_every_change_bumps_the_version_and_events_are_bounded() -> None:
    state = new_state()
    submission = state.add_submission("s0", 0, T0)
    version = state.version
    state.set_job_status(submission, JobStatus.PROVISIONING, T0)
    assert state.version == version + 1
    state.set_job_status(submission, JobStatus.PROVISIONING, T0)  # no change, no bump
    assert state.version == version + 1
    for i in range(500):
        state.record(T0, f"event {i}")
    assert len(state.events) == 200 and state.events[-1].message == "event 499"


def test_resubmissions_get_new_numbers_and_keep_old_ones() -> None:
    state = new_state(1)
    first = state.add_submission("a", 0, T0)
    state.finish_job(first, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, T0, exit_code=1)
    second = state.add_submission("b", 0, T0)
    assert [s.submission_num for s in state.replica(0).submissions] == [0, 1]
    assert state.replica(0).current is second and first.status == JobStatus.FAILED


def test_run_status_follows_the_most_advanced_live_replica() -> None:
    state = new_state()
    a, b = state.add_submission("a", 0, T0), state.add_submission("b", 1, T0)
    assert derive_run_status(state) == (RunStatus.SUBMITTED, "")
    state.set_job_status(a, JobStatus.SUBMITTED, T0, "waiting for capacity (1 CPU, 512MB)")
    assert derive_run_status(state) == (RunStatus.PENDING, "waiting for capacity (1 CPU, 512MB)")
    state.set_job_status(b, JobStatus.PROVISIONING, T0)
    assert derive_run_status(state)[0] == RunStatus.PROVISIONING
    state.set_job_status(b, JobStatus.RUNNING, T0)
    assert derive_run_status(state)[0] == RunStatus.RUNNING
    state.stop = StopRequest()
    assert derive_run_status(state)[0] == RunStatus.TERMINATING


def test_cost_stops_at_the_finish_time() -> None:
    state = new_state(1)
    submission = state.add_submission("a", 0, T0)
    submission.price_per_hour = 2.0
    state.set_job_status(submission, JobStatus.RUNNING, T0)
    assert state.cost(T0 + timedelta(minutes=30)) == 1.0
    state.finish_job(submission, JobTerminationReason.TERMINATED_BY_USER, T0 + timedelta(hours=1))
    assert state.cost(T0 + timedelta(hours=5)) == 2.0


def test_a_finished_run_stays_finished() -> None:
    state = new_state(1)
    state.finish_run(RunTerminationReason.STOPPED_BY_USER, T0)
    state.set_run_status(RunStatus.RUNNING, T0)
    state.finish_run(RunTerminationReason.ALL_JOBS_DONE, T0)
    assert (state.status, state.termination_reason) == (RunStatus.TERMINATED, RunTerminationReason.STOPPED_BY_USER)


def test_termination_reasons_map_to_dstack_statuses() -> None:
    assert JobTerminationReason.ABORTED_BY_USER.to_job_status() == JobStatus.ABORTED
    assert JobTerminationReason.SCALED_DOWN.to_job_status() == JobStatus.TERMINATED
    assert JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY.to_job_status() == JobStatus.FAILED
    assert RunTerminationReason.RETRY_LIMIT_EXCEEDED.to_run_status() == RunStatus.FAILED
    assert RunTerminationReason.MAX_DURATION_EXCEEDED.to_run_status() == RunStatus.TERMINATED


def test_a_failed_run_says_which_replica_failed_and_how() -> None:
    state = new_state()
    ok, bad = state.add_submission("s0", 0, T0), state.add_submission("s1", 1, T0)
    state.finish_job(ok, JobTerminationReason.DONE_BY_RUNNER, T0, exit_code=0)
    retried = state.add_submission("s1b", 1, T0)
    state.finish_job(bad, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, T0, exit_code=2)
    state.finish_job(retried, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, T0 + timedelta(seconds=1), exit_code=3)
    state.finish_run(RunTerminationReason.JOB_FAILED, T0 + timedelta(seconds=1))
    submissions = [s for r in state.replicas for s in r.submissions]
    assert state.status_message == ""  # the workflow leaves it empty: the API says what failed
    assert shown_status_message(state.status, state.status_message, submissions) == \
        "replica 1 (submission 1) failed: exit code 3"
    lost = state.add_submission("s2", 0, T0 + timedelta(seconds=2))
    state.finish_job(lost, JobTerminationReason.INSTANCE_UNREACHABLE, T0 + timedelta(seconds=2),
                     message="its host stopped answering")
    assert failure_message([*submissions, lost]) == \
        "replica 0 (submission 1) failed: instance_unreachable: its host stopped answering"
    # Any other status, or a message of the workflow's own, is shown as it is.
    assert shown_status_message(RunStatus.FAILED, "could not start the workflow", submissions) == \
        "could not start the workflow"
    assert shown_status_message(RunStatus.DONE, "", submissions) == ""
    assert failure_message([ok]) == ""
