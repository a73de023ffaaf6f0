from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.configuration import ReplicaRange, parse_configuration
from core.run_state import RunState
from core.scaling import check_replica_count, replicas_to_add, replicas_to_remove
from core.statuses import JobStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def service_state(statuses: list[JobStatus]) -> RunState:
    configuration = parse_configuration({"type": "service", "commands": ["serve"], "port": 80, "replicas": "0..8"})
    state = RunState(run_id="r", run_name="n", project="p", user="u", workflow_id="w",
                     configuration=configuration, desired_replicas=len(statuses), submitted_at=T0)
    for num, status in enumerate(statuses):
        submission = state.add_submission(f"s{num}", num, T0 + timedelta(seconds=num))
        state.set_job_status(submission, status, T0)
    return state


def test_scale_down_removes_replicas_not_running_first_then_the_newest() -> None:
    state = service_state([JobStatus.RUNNING, JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.PROVISIONING])
    live = [0, 1, 2, 3]
    assert replicas_to_remove(state, live, 1) == [3]
    assert replicas_to_remove(state, live, 2) == [3, 1]
    assert replicas_to_remove(state, live, 3) == [3, 1, 2]
    assert replicas_to_remove(state, live, 4) == [3, 1, 2, 0]


def test_nothing_is_removed_or_added_for_zero_or_negative_counts() -> None:
    state = service_state([JobStatus.RUNNING] * 4)
    for count in (0, -1, -3):
        assert replicas_to_remove(state, [0, 1, 2, 3], count) == []
        assert replicas_to_add(state, [0, 1, 2, 3], count) == []


def test_scale_up_reuses_freed_numbers_lowest_first_then_new_ones() -> None:
    state = service_state([JobStatus.RUNNING] * 4)
    assert replicas_to_add(state, busy=[0, 2], count=1) == [1]
    assert replicas_to_add(state, busy=[0, 2], count=3) == [1, 3, 4]
    assert replicas_to_add(state, busy=[0, 1, 2, 3], count=2) == [4, 5]
    assert replicas_to_add(service_state([]), busy=[], count=2) == [0, 1]


def test_replica_counts_are_checked_against_the_range() -> None:
    assert check_replica_count(2, ReplicaRange(min=1, max=4)) is None
    assert check_replica_count(5, ReplicaRange(min=1, max=4)) == (
        "replicas must be within 1..4 for this service, not 5")
    assert check_replica_count(0, ReplicaRange(min=1, max=1)) == "replicas must be 1 for this service, not 0"
