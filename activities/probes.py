"""A service replica's readiness, watched from its own host: its probes (dstack's shape) or,
without any, its port accepting connections. The run's workflow hears of each change only, by
a signal, so a steady replica costs its history nothing."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import names
from core.jobs import ProbeRequest
from core.service_configuration import ProbeConfig
from workflows.messages import READINESS_SIGNAL, ReplicaReadiness

log = structlog.get_logger(__name__)

# Without probes: how often the port is tried, and how long a connection may take.
PORT_CHECK_INTERVAL_SECONDS = 0.5
PORT_CHECK_TIMEOUT_SECONDS = 2.0
HEARTBEAT_SECONDS = 5.0


class ProbeActivities:
    def __init__(self) -> None:
        self._http = httpx.AsyncClient(follow_redirects=False)
        self._handing_over = asyncio.Event()

    def hand_over(self) -> None:
        """The worker is shutting down: every probe ends now with a retryable failure, which
        Temporal retries on the host's next worker (it tells the run the first verdict it finds)."""
        self._handing_over.set()

    @activity.defn(name=names.PROBE_REPLICA)
    async def probe_replica(self, request: ProbeRequest) -> None:
        """Runs until cancelled (the replica stops) or the run has ended."""
        bound = log.bind(run_id=request.run_id, replica_num=request.replica_num, submission_id=request.submission_id)
        try:
            await self._probe_forever(request, bound)
        except asyncio.CancelledError:
            # The execution that started it is gone (the run continued as new, whose execution
            # starts its own prober, or ended): nobody waits for an outcome, so no failure is reported.
            details = activity.cancellation_details()
            if details is not None and details.not_found:
                bound.info("prober ends with the execution that started it")
                return
            raise

    async def _probe_forever(self, request: ProbeRequest, bound: structlog.typing.FilteringBoundLogger) -> None:
        probes = request.probes
        interval = min((p.interval_seconds for p in probes), default=PORT_CHECK_INTERVAL_SECONDS)
        ready_after = max((p.ready_after for p in probes), default=1)
        # What the workflow believes; unknown on a retry (an earlier attempt may have told it otherwise),
        # and then the first verdict is sent whatever it is.
        ready: bool | None = request.ready if activity.info().attempt == 1 else None
        passes = 0
        while True:
            failure = await self._check(request, probes)
            passes = passes + 1 if failure is None else 0
            verdict = False if failure is not None else True if passes >= ready_after else ready
            if verdict is not None and verdict != ready:
                if not await self._tell(request, verdict, failure or ""):
                    return
                bound.info("replica readiness", ready=verdict, reason=failure)
                ready = verdict
            next_check = time.monotonic() + interval
            while (left := next_check - time.monotonic()) > 0:
                activity.heartbeat()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._handing_over.wait(), min(left, HEARTBEAT_SECONDS))
                if self._handing_over.is_set():
                    raise ApplicationError("the host's worker is shutting down; its next worker probes on",
                                           type="WorkerShutdown")

    async def _check(self, request: ProbeRequest, probes: list[ProbeConfig]) -> str | None:
        """None when every probe passes, else what failed."""
        if not probes:
            return await _port_check(request.address, request.port)
        for probe in probes:
            failure = await self._http_probe(request, probe)
            if failure is not None:
                return failure
        return None

    async def _http_probe(self, request: ProbeRequest, probe: ProbeConfig) -> str | None:
        url = f"http://{request.address}:{request.port}{probe.url}"
        try:
            response = await self._http.request(probe.method.upper(), url, content=probe.body,
                                                 headers={h.name: h.value for h in probe.headers},
                                                 timeout=probe.timeout_seconds)
        except httpx.TimeoutException:
            return f"probe {probe.method.upper()} {probe.url} timed out after {probe.timeout_seconds:g}s"
        except httpx.HTTPError as error:
            return f"probe {probe.method.upper()} {probe.url} failed: {type(error).__name__}"
        if not 200 <= response.status_code < 300:
            return f"probe {probe.method.upper()} {probe.url} answered {response.status_code}"
        return None

    async def _tell(self, request: ProbeRequest, ready: bool, message: str) -> bool:
        """Signals the run; False when it has ended (nothing left to tell)."""
        handle = activity.client().get_workflow_handle(request.workflow_id)
        try:
            await handle.signal(READINESS_SIGNAL, ReplicaReadiness(submission_id=request.submission_id,
                                                                   ready=ready, message=message))
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True


async def _port_check(address: str, port: int) -> str | None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), PORT_CHECK_TIMEOUT_SECONDS)
    except (OSError, TimeoutError):
        return f"port {port} does not accept connections"
    writer.close()
    return None
