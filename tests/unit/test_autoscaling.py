"""The autoscaler's decision (core/autoscaling.py): clamping, the delays, zero, and when a run
last scaled according to its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.autoscaling import WAKE_REASON, LastScale, ScaleDecision, decide, last_scale_from_events
from core.configuration import ReplicaRange
from core.run_state import MAX_EVENTS, RunEvent
from core.service_configuration import ScalingConfig

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
SCALING = ScalingConfig(target=3, window_seconds=60, scale_up_delay_seconds=300, scale_down_delay_seconds=600)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def decision(current: int, rps: float, *, low: int = 1, high: int = 4, scaled: float = 3600,
             last_request: float | None = 0, woken: bool = False, ready: float | None = None,
             scaling: ScalingConfig = SCALING) -> ScaleDecision | None:
    """`scaled`, `last_request` and `ready` (a woken replica's readiness): seconds ago, or None."""
    return decide(current=current, replicas=ReplicaRange(min=low, max=high), scaling=scaling, rps=rps,
                  last_request_at=None if last_request is None else ago(last_request),
                  last_scale=LastScale(at=ago(scaled), woken=woken, ready_at=None if ready is None else ago(ready)),
                  now=NOW)


@pytest.mark.parametrize(("current", "rps", "wanted"), [
    (1, 12.1, 4),  # ceil(12.1 / 3) = 5, clamped to max 4
    (1, 6.0, 2),  # exactly 2 per target: no third replica from rounding
    (1, 6.01, 3),
    (3, 0.5, 1),  # down, clamped to min 1
    (4, 100, None),  # already at max
    (1, 0.0, None),  # at min
])
def test_desired_is_rps_over_target_within_the_range(current: int, rps: float, wanted: int | None) -> None:
    result = decision(current, rps)
    assert (result.replicas if result else None) == wanted


def test_the_reason_is_the_runs_event() -> None:
    assert decision(1, 8.04) == ScaleDecision(replicas=3, reason="autoscaler: 1 → 3 (8.0 rps, target 3)")
    assert decision(3, 2.0) == ScaleDecision(replicas=1, reason="autoscaler: 3 → 1 (2.0 rps, target 3)")
    fractional = ScalingConfig(target=0.5, scale_up_delay_seconds=0)
    assert decision(1, 1.26, scaling=fractional) == ScaleDecision(
        replicas=3, reason="autoscaler: 1 → 3 (1.3 rps, target 0.5)")


def test_scale_up_waits_for_scale_up_delay_since_the_last_change() -> None:
    assert decision(1, 9, scaled=299) is None
    assert decision(1, 9, scaled=300) == ScaleDecision(replicas=3, reason="autoscaler: 1 → 3 (9.0 rps, target 3)")


def test_scale_down_waits_for_scale_down_delay_since_the_last_change() -> None:
    assert decision(3, 1, scaled=599) is None
    result = decision(3, 1, scaled=600)
    assert result is not None and result.replicas == 1
    # A scale-up's delay is not a scale-down's: 5 minutes after a change, only up may happen.
    assert decision(3, 1, scaled=300) is None
    assert decision(2, 9, scaled=300) is not None


def test_from_zero_at_once_and_a_wake_holds_no_scale_up_back() -> None:
    assert decision(0, 9, low=0, scaled=1) == ScaleDecision(replicas=3, reason="autoscaler: 0 → 3 (9.0 rps, target 3)")
    # One replica woken for a waiting request a second ago: the load it then meets scales at once...
    assert decision(1, 9, low=0, scaled=1, woken=True) is not None
    # ...while after any other change it waits for scale_up_delay...
    assert decision(1, 9, low=0, scaled=1) is None



def test_after_a_wake_nothing_scales_down_before_its_replica_has_been_ready_for_scale_down_delay() -> None:
    """A cold start longer than scale_down_delay must not end with the replica a request waits
    for scaled away."""
    def quiet(ready: float | None) -> ScaleDecision | None:
        return decision(1, 0, low=0, scaled=3600, last_request=None, woken=True, ready=ready)

    assert quiet(ready=None) is None  # not ready yet, an hour after the wake
    assert quiet(ready=599) is None
    assert quiet(ready=600) == ScaleDecision(replicas=0, reason="autoscaler: 1 → 0 (no request for 10m)")
    assert decision(3, 1, ready=600, low=0, scaled=3600, woken=True) == ScaleDecision(
        replicas=1, reason="autoscaler: 3 → 1 (1.0 rps, target 3)")


def test_to_zero_only_with_min_zero_and_no_request_for_scale_down_delay() -> None:
    to_zero = ScaleDecision(replicas=0, reason="autoscaler: 2 → 0 (no request for 10m)")
    assert decision(2, 0, low=0, last_request=600) == to_zero
    assert decision(2, 0, low=0, last_request=None) == to_zero  # none seen for longer than kept
    # A request 9 minutes ago (out of the 1-minute window, so rps is 0) keeps one replica.
    assert decision(2, 0, low=0, last_request=540) == ScaleDecision(
        replicas=1, reason="autoscaler: 2 → 1 (0.0 rps, target 3)")
    assert decision(1, 0, low=0, last_request=540) is None
    # Quiet, but the last change was too recent.
    assert decision(1, 0, low=0, last_request=None, scaled=599) is None
    # min 1 never goes to zero.
    assert decision(1, 0, low=1, last_request=None) is None


def test_delays_of_zero_act_at_once() -> None:
    eager = ScalingConfig(target=1, window_seconds=1, scale_up_delay_seconds=0, scale_down_delay_seconds=0)
    assert decision(1, 3, scaled=0, scaling=eager) is not None
    assert decision(3, 0, low=0, scaled=0, last_request=0, scaling=eager) == ScaleDecision(
        replicas=0, reason="autoscaler: 3 → 0 (no request for 0s)")


def event(seconds_ago: float, message: str) -> RunEvent:
    return RunEvent(timestamp=ago(seconds_ago), message=message)


def test_the_last_scale_is_read_from_the_runs_events() -> None:
    submitted = ago(1000)
    assert last_scale_from_events([event(1000, "run submitted")], submitted) == LastScale(at=submitted)
    events = [event(1000, "run submitted"), event(900, "scaled to 3 replicas"), event(800, "replica 2 ready"),
              event(700, "scale to 9 refused: replicas must be within 1..4 for this service, not 9")]
    assert last_scale_from_events(events, submitted) == LastScale(at=ago(900))
    events.append(event(600, "autoscaler: 3 → 1 (0.4 rps, target 3)"))
    assert last_scale_from_events(events, submitted) == LastScale(at=ago(600))
    events.append(event(500, WAKE_REASON))
    assert last_scale_from_events(events, submitted) == LastScale(at=ago(500), woken=True)
    # After a wake: when a replica first became ready since (a readiness before it doesn't count).
    events += [event(490, "replica 1 submission 1 submitted"), event(480, "replica 1 not ready: port 8000 does not "
               "accept connections"), event(470, "replica 1 ready"), event(460, "replica 1 ready: after a restart")]
    assert last_scale_from_events(events, submitted) == LastScale(at=ago(500), woken=True, ready_at=ago(470))


def test_events_that_dropped_the_last_scale_give_their_oldest_time() -> None:
    """The state keeps the last MAX_EVENTS: a scale before them was no later than the oldest kept,
    so taking that time can only make the autoscaler wait longer, never act too early."""
    crowded = [event(MAX_EVENTS - n, f"replica 0 {'ready' if n % 2 else 'not ready'}") for n in range(MAX_EVENTS)]
    assert last_scale_from_events(crowded, ago(10_000)) == LastScale(at=ago(MAX_EVENTS))
