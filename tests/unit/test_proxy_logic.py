"""The proxy's pure parts: which replicas serve, headers on each hop, turns, close codes, paths."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from api.proxy.balancer import RoundRobin
from api.proxy.errors import ProxyError
from api.proxy.headers import bearer_token, request_headers, response_headers
from api.proxy.proxy import _parse
from api.proxy.routes import Upstream, serving_upstreams
from api.proxy.websocket import relayable_close_code
from core.configuration import parse_configuration
from core.run_state import RunState, StopRequest
from core.statuses import JobStatus, JobTerminationReason, RunStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = [JobStatus.SUBMITTED, JobStatus.RUNNING, JobStatus.TERMINATING, JobStatus.TERMINATED]


def service_state() -> RunState:
    configuration = parse_configuration({"type": "service", "port": 8000, "commands": ["serve"], "replicas": "0..9"})
    return RunState(run_id="r", run_name="web", project="main", user="admin", workflow_id="w",
                    configuration=configuration, desired_replicas=4, submitted_at=T0)


@pytest.mark.parametrize("stopping", [False, True])
def test_serving_replicas_read_from_json_match_the_run_state(stopping: bool) -> None:
    """Every combination of status, readiness, port and scale-down, one replica each: the proxy's
    reading of the projection and RunState.serving_submissions() pick the same ones."""
    state = service_state()
    combinations = list(itertools.product(STATUSES, [False, True], [None, 9000],
                                          [None, JobTerminationReason.SCALED_DOWN]))
    for num, (status, ready, port, stop_reason) in enumerate(combinations):
        earlier = state.add_submission(f"old-{num}", num, T0)
        earlier.status, earlier.ready, earlier.port, earlier.address = JobStatus.RUNNING, True, 1, "10.0.0.1"
        submission = state.add_submission(f"s-{num}", num, T0)  # only the latest submission counts
        submission.status, submission.ready, submission.port = status, ready, port
        submission.address = "10.0.0.2" if port else None
        state.replica(num).stop_reason = stop_reason
    if stopping:
        state.stop = StopRequest()
    replicas = state.model_dump(mode="json")["replicas"]

    upstreams = serving_upstreams(replicas, stopping=state.stop is not None or state.status.is_finished)
    assert [u.submission_id for u in upstreams] == [s.id for s in state.serving_submissions()]
    assert len(upstreams) == (0 if stopping else 1)
    if upstreams:
        assert upstreams[0] == Upstream(replica_num=upstreams[0].replica_num, submission_id=upstreams[0].submission_id,
                                        address="10.0.0.2", port=9000)
    state.status = RunStatus.TERMINATED
    assert state.serving_submissions() == [] and serving_upstreams(None, stopping=False) == ()


def test_request_headers_for_the_replica() -> None:
    incoming = [(b"host", b"api.example:3000"), (b"authorization", b"Bearer secret"),
                (b"connection", b"keep-alive, x-hop"), (b"x-hop", b"1"), (b"keep-alive", b"timeout=5"),
                (b"transfer-encoding", b"chunked"), (b"te", b"trailers"), (b"x-forwarded-for", b"203.0.113.9"),
                (b"x-forwarded-proto", b"forged"), (b"expect", b"100-continue"), (b"cookie", b"a=1"),
                (b"content-length", b"5")]
    forwarded = request_headers(incoming, client_host="192.0.2.1", scheme="https", strip_authorization=True,
                                prefix="/proxy/services/main/web")
    assert forwarded == [(b"cookie", b"a=1"), (b"content-length", b"5"),
                         (b"x-forwarded-for", b"203.0.113.9, 192.0.2.1"), (b"x-forwarded-proto", b"https"),
                         (b"x-forwarded-host", b"api.example:3000"),
                         (b"x-forwarded-prefix", b"/proxy/services/main/web")]
    # auth: false keeps the service's own Authorization; no prefix without strip_prefix.
    kept = request_headers([(b"authorization", b"Basic x")], client_host=None, scheme="http",
                           strip_authorization=False, prefix=None)
    assert kept == [(b"authorization", b"Basic x"), (b"x-forwarded-proto", b"http")]


def test_a_websocket_handshake_is_the_proxy_s_own_on_each_side() -> None:
    incoming = [(b"host", b"h"), (b"upgrade", b"websocket"), (b"connection", b"Upgrade"), (b"sec-websocket-key", b"k"),
                (b"sec-websocket-version", b"13"), (b"sec-websocket-protocol", b"chat"), (b"origin", b"https://app")]
    forwarded = request_headers(incoming, client_host="192.0.2.1", scheme="wss", strip_authorization=True,
                                prefix=None, websocket=True)
    assert forwarded == [(b"origin", b"https://app"), (b"x-forwarded-for", b"192.0.2.1"),
                         (b"x-forwarded-proto", b"https"), (b"x-forwarded-host", b"h")]


def test_response_headers_lose_hop_by_hop_ones_only() -> None:
    answered = [(b"content-type", b"text/event-stream"), (b"transfer-encoding", b"chunked"), (b"connection", b"close"),
                (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"content-encoding", b"gzip")]
    assert response_headers(answered) == [(b"content-type", b"text/event-stream"), (b"set-cookie", b"a=1"),
                                          (b"set-cookie", b"b=2"), (b"content-encoding", b"gzip")]


@pytest.mark.parametrize(("value", "token"), [(b"Bearer abc", "abc"), (b"bearer  abc ", "abc"), (b"Basic abc", None),
                                              (b"Bearer ", None)])
def test_the_bearer_token(value: bytes, token: str | None) -> None:
    assert bearer_token([(b"authorization", value)]) == token
    assert bearer_token([]) is None


def test_turns_go_round_and_the_rest_follow() -> None:
    upstreams = [Upstream(num, f"s{num}", "10.0.0.1", 9000 + num) for num in range(3)]
    turns = RoundRobin()
    orders = [[u.replica_num for u in turns.order("run", upstreams)] for _ in range(4)]
    assert orders == [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]
    assert [u.replica_num for u in turns.order("other", upstreams)] == [0, 1, 2]  # each run its own turns
    assert turns.order("run", []) == []


@pytest.mark.parametrize(("code", "relayed"), [(None, 1000), (1000, 1000), (1001, 1001), (1005, 1000), (1006, 1001),
                                               (1011, 1011), (1015, 1011), (4001, 4001), (999, 1011)])
def test_close_codes_that_can_be_sent_on(code: int | None, relayed: int) -> None:
    assert relayable_close_code(code) == relayed


@pytest.mark.parametrize(("path", "parsed"), [
    (b"/proxy/services/main/web", ("main", "web", b"/")),
    (b"/proxy/services/main/web/", ("main", "web", b"/")),
    (b"/proxy/services/main/web/v1/chat%2Fx/", ("main", "web", b"/v1/chat%2Fx/")),
    (b"/proxy/services/main/web//twice", ("main", "web", b"//twice")),
])
def test_paths_name_a_project_a_run_and_the_rest(path: bytes, parsed: tuple[str, str, bytes]) -> None:
    assert _parse(path) == parsed


@pytest.mark.parametrize(("path", "detail"), [
    (b"/proxy/services/main", "address a service as /proxy/services/{project}/{run}/{path}"),
    (b"/proxy/services//web/", "address a service as /proxy/services/{project}/{run}/{path}"),
    (b"/proxy/services/Main/web/", "project Main not found"),
    (b"/proxy/services/main/no_such/", "project main has no active run named no_such"),
])
def test_paths_that_name_no_service(path: bytes, detail: str) -> None:
    with pytest.raises(ProxyError) as refused:
        _parse(path)
    assert (refused.value.status_code, refused.value.detail) == (404, detail)
