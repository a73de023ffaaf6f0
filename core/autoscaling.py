"""When the autoscaler changes a service's replica count, and what it says about it.

dstack's rps rule: keep ceil(rps / target) replicas within the service's range, where rps is the
requests the proxies passed over `window`; wait `scale_up_delay` / `scale_down_delay` after the
last change before scaling that way again, and go to zero (`min: 0`) only once no request has
come for `scale_down_delay`. Pure: the autoscaler (api/services/autoscaler.py) passes what it read,
and tests drive it with any clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.configuration import ReplicaRange
from core.run_state import MAX_EVENTS, RunEvent
from core.service_configuration import ScalingConfig
from core.units import format_duration

AUTOSCALER_PREFIX = "autoscaler: "
WAKE_REASON = f"{AUTOSCALER_PREFIX}0 → 1 (a request is waiting)"
# The events the workflow records for a scale without a reason (a user's, or an apply's), and for
# a replica whose probes pass.
_USER_SCALE = re.compile(r"^scaled to \d+ replicas$")
_REPLICA_READY = re.compile(r"^replica \d+ ready(: |$)")
# rps / target is compared after rounding, so that 6.0 / 3 is 2 replicas even when the division
# gives 2.0000000000000004.
_RATIO_DIGITS = 9


@dataclass(frozen=True)
class LastScale:
    """The last change of a run's desired replica count (or the run's submission, before any)."""

    at: datetime
    # A wake from zero answered one waiting request, not the load: it holds no scale-up back.
    woken: bool = False
    # For a wake: when a replica became ready after it. Until then a request waits for that
    # replica, so nothing scales down; after, scale_down_delay counts from then (a cold start
    # longer than the delay doesn't end with the replica scaled away).
    ready_at: datetime | None = None


@dataclass(frozen=True)
class ScaleDecision:
    replicas: int
    reason: str  # the run's event: "autoscaler: 1 → 3 (12.1 rps, target 3)"


def wanted_replicas(replicas: ReplicaRange, scaling: ScalingConfig, rps: float,
                    last_request_at: datetime | None, now: datetime) -> int:
    """What the load asks for, before any delay: ceil(rps / target) within the range, and never
    zero while a request came less than scale_down_delay ago."""
    by_load = math.ceil(round(rps / scaling.target, _RATIO_DIGITS))
    wanted = min(max(by_load, replicas.min), replicas.max)
    if wanted == 0 and not _quiet(last_request_at, scaling.scale_down_delay_seconds, now):
        return 1
    return wanted


def decide(*, current: int, replicas: ReplicaRange, scaling: ScalingConfig, rps: float,
           last_request_at: datetime | None, last_scale: LastScale, now: datetime) -> ScaleDecision | None:
    """The new desired count and why, or None to leave it. `current`: the desired count now;
    `rps`: requests per second over the window; `last_request_at`: the latest request seen (None:
    none for longer than any delay)."""
    wanted = wanted_replicas(replicas, scaling, rps, last_request_at, now)
    if wanted == current:
        return None
    if wanted > current:
        # From zero at once: requests are waiting for a replica.
        held_back = current > 0 and not last_scale.woken
        if held_back and (now - last_scale.at).total_seconds() < scaling.scale_up_delay_seconds:
            return None
    else:
        # After a wake, the delay counts from its replica's readiness, and nothing goes before it.
        since = last_scale.ready_at if last_scale.woken else last_scale.at
        if since is None or (now - since).total_seconds() < scaling.scale_down_delay_seconds:
            return None
    if wanted == 0:
        why = f"no request for {format_duration(scaling.scale_down_delay_seconds)}"
    else:
        why = f"{rps:.1f} rps, target {scaling.target:g}"
    return ScaleDecision(replicas=wanted, reason=f"{AUTOSCALER_PREFIX}{current} → {wanted} ({why})")


def last_scale_from_events(events: Sequence[RunEvent], submitted_at: datetime) -> LastScale:
    """The last change of the desired count that the run's events show: the autoscaler's own, or
    a scale without a reason (a user's or an apply's). None among them: the run's submission, or,
    when older events were dropped (the state keeps MAX_EVENTS), the oldest kept event: the change
    was no later than that, so the delays are never cut short. After a wake, the first replica
    ready since."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.message == WAKE_REASON:
            ready = next((later.timestamp for later in events[index + 1:] if _REPLICA_READY.match(later.message)),
                         None)
            return LastScale(at=event.timestamp, woken=True, ready_at=ready)
        if event.message.startswith(AUTOSCALER_PREFIX) or _USER_SCALE.match(event.message):
            return LastScale(at=event.timestamp)
    if len(events) >= MAX_EVENTS:
        return LastScale(at=events[0].timestamp)
    return LastScale(at=submitted_at)


def _quiet(last_request_at: datetime | None, seconds: float, now: datetime) -> bool:
    return last_request_at is None or (now - last_request_at).total_seconds() >= seconds
