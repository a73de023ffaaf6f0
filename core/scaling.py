"""Which replicas a scale removes or adds. Pure, so the workflow and tests share it."""

from __future__ import annotations

from collections.abc import Collection

from core.configuration import ReplicaRange
from core.run_state import RunState
from core.statuses import JobStatus


def replicas_to_remove(state: RunState, live: Collection[int], count: int) -> list[int]:
    """The least useful first: replicas not yet running before running ones, an older deployment
    before the current one, and among equals the newest (latest submitted, then highest number)."""
    candidates = [state.replica(num) for num in live]
    newest_first = sorted(candidates, key=lambda r: (r.current.submitted_at, r.replica_num), reverse=True)
    ordered = sorted(newest_first, key=lambda r: (r.current.status == JobStatus.RUNNING, r.current.deployment_num))
    return [replica.replica_num for replica in ordered[:max(count, 0)]]


def replicas_to_add(state: RunState, busy: Collection[int], count: int) -> list[int]:
    """Freed replica numbers first (lowest first), then numbers never used."""
    known = {replica.replica_num for replica in state.replicas}
    freed = sorted(known - set(busy))
    fresh = range(max(known, default=-1) + 1, max(known, default=-1) + 1 + count)
    return [*freed, *fresh][:max(count, 0)]


def check_replica_count(replicas: int, allowed: ReplicaRange) -> str | None:
    """Why `replicas` is refused, or None."""
    if allowed.min <= replicas <= allowed.max:
        return None
    expected = f"be {allowed.min}" if allowed.min == allowed.max else f"be within {allowed}"
    return f"replicas must {expected} for this service, not {replicas}"
