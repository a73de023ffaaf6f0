"""The in-server proxy: real replica processes (tests/support/replica_app.py) serving HTTP and
WebSockets behind `/proxy/services/{project}/{run}/`, on one deployment per database."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.support.durastack import REPO, ApiClient, DurastackProcesses
from tests.support.replicas import (
    control,
    current_submissions,
    listening,
    poll,
    replica_state,
    service,
    wait_serving,
)

pytestmark = pytest.mark.integration


def proxied(deployment: DurastackProcesses, run_name: str, path: str = "/", project: str = "main") -> str:
    return f"{deployment.url}/proxy/services/{project}/{run_name}{path}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def web(deployment: DurastackProcesses) -> Iterator[dict[str, Any]]:
    """A service of two replicas with the defaults: auth, strip_prefix, no probes (ready once
    their port accepts connections)."""
    api = deployment.client()
    api.apply(service("web", replicas=2))
    yield wait_serving(api, "web", {0, 1})
    api.ok("runs/stop", {"runs_names": ["web"], "abort": True})
    api.wait_finished("web")


@pytest.fixture(scope="module")
def http(deployment: DurastackProcesses) -> Iterator[httpx.Client]:
    """The admin's client (a global admin may use every project's services)."""
    with httpx.Client(headers=bearer(deployment.token), timeout=30) as client:
        yield client


def test_requests_and_answers_pass_through(deployment: DurastackProcesses, web: dict[str, Any],
                                           http: httpx.Client) -> None:
    got = http.get(proxied(deployment, "web", "/echo/a%20b?x=1&y=2"),
                   headers={"Connection": "keep-alive, X-Hop", "X-Hop": "1", "X-Custom": "kept"})
    assert got.status_code == 200, got.text
    echo = got.json()
    assert (echo["method"], echo["path"], echo["body"]) == ("GET", "/echo/a%20b?x=1&y=2", "")
    headers = echo["headers"]
    assert "authorization" not in headers  # the durastack token stays with durastack
    assert "x-hop" not in headers and headers["x-custom"] == "kept"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert (headers["x-forwarded-proto"], headers["x-forwarded-host"]) == ("http", f"127.0.0.1:{deployment.port}")
    assert headers["x-forwarded-prefix"] == "/proxy/services/main/web"

    # Bodies both ways, streamed: a chunked upload of 1 MB, and status codes as the replica says.
    parts = [bytes([65 + i]) * 65536 for i in range(16)]
    posted = http.post(proxied(deployment, "web", "/upload?status=201"), content=iter(parts))
    assert posted.status_code == 201, posted.text
    assert (posted.json()["method"], posted.json()["body"]) == ("POST", b"".join(parts).decode())
    assert posted.json()["headers"]["transfer-encoding"] == "chunked"
    put = http.put(proxied(deployment, "web", "/item/7?status=418"), json={"a": 1})
    assert (put.status_code, put.json()["body"], put.json()["method"]) == (418, '{"a":1}', "PUT")
    head = http.head(proxied(deployment, "web", "/echo"))
    assert (head.status_code, head.content) == (200, b"")
    # Without a trailing slash: the service's root.
    assert http.get(proxied(deployment, "web", "")).json()["path"] == "/"

    # The run says where its service is.
    api = deployment.client()
    url = f"{deployment.url}/proxy/services/main/web/"
    assert api.get("web")["service"] == {"url": url, "ready_replicas": 2}
    [listed] = api.ok("runs/list", {"run_name": "web"})
    assert listed["service"] == {"url": url, "ready_replicas": 2}


def test_a_member_token_is_needed_and_stays_with_durastack(deployment: DurastackProcesses, web: dict[str, Any],
                                                           http: httpx.Client) -> None:
    url = proxied(deployment, "web", "/echo")
    missing = httpx.get(url)
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    assert missing.json()["detail"].startswith("missing token: send 'Authorization: Bearer <token>'")
    wrong = httpx.get(url, headers=bearer("not-a-token"))
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "invalid or revoked token")

    outsider = http.post(f"{deployment.url}/api/users/create", json={"username": "outsider"}).json()
    refused = httpx.get(url, headers=bearer(outsider["token"]["token"]))
    assert (refused.status_code, refused.json()["detail"]) == (403, "user outsider is not a member of project main")

    member = http.post(f"{deployment.url}/api/users/create", json={"username": "member"}).json()
    added = http.post(f"{deployment.url}/api/projects/main/add_members",
                      json={"members": [{"username": "member", "project_role": "user"}]})
    assert added.status_code == 200, added.text
    answered = httpx.get(url, headers=bearer(member["token"]["token"]))
    assert answered.status_code == 200 and "authorization" not in answered.json()["headers"]


def test_an_open_service_with_its_full_path(deployment: DurastackProcesses) -> None:
    """`auth: false`: anyone, and an Authorization header is the service's own; `strip_prefix:
    false`: the replica sees the whole path."""
    api = deployment.client()
    api.apply(service("open", auth=False, strip_prefix=False))
    wait_serving(api, "open", {0})
    answer = httpx.get(proxied(deployment, "open", "/v1/models?x=1"), headers=bearer("the-service-s-own"),
                       timeout=30)
    assert answer.status_code == 200, answer.text
    echo = answer.json()
    assert echo["path"] == "/proxy/services/main/open/v1/models?x=1"
    assert echo["headers"]["authorization"] == "Bearer the-service-s-own"
    assert "x-forwarded-prefix" not in echo["headers"]
    api.ok("runs/stop", {"runs_names": ["open"], "abort": True})


def test_what_is_not_a_service(deployment: DurastackProcesses, http: httpx.Client) -> None:
    api = deployment.client()
    api.apply({"type": "task", "name": "batch", "commands": ["sleep 300"], "resources": {"cpu": 0.1, "memory": "16MB"}})
    for path, detail in (
        ("/proxy/services/nope/web/", "project nope not found"),
        ("/proxy/services/main/nope/", "project main has no active run named nope"),
        ("/proxy/services/main/batch/", "run batch is a task, not a service"),
        ("/proxy/services/main", "address a service as /proxy/services/{project}/{run}/{path}"),
    ):
        answer = http.get(f"{deployment.url}{path}")
        assert (answer.status_code, answer.json()["detail"]) == (404, detail), path
    api.ok("runs/stop", {"runs_names": ["batch"], "abort": True})


def test_requests_take_turns_across_ready_replicas(deployment: DurastackProcesses, web: dict[str, Any],
                                                   http: httpx.Client) -> None:
    served = [http.get(proxied(deployment, "web", "/turn")).json()["replica"] for _ in range(10)]
    assert Counter(served) == {0: 5, 1: 5}
    assert all(a != b for a, b in itertools.pairwise(served)), served


def test_server_sent_events_arrive_as_they_are_sent(deployment: DurastackProcesses, web: dict[str, Any]) -> None:
    """The replica sends its first event, then waits for the test to let it end: the test can only
    let it if the first event arrived unbuffered."""
    key = uuid.uuid4().hex
    with httpx.stream("GET", proxied(deployment, "web", f"/sse?key={key}"), headers=bearer(deployment.token),
                      timeout=30) as stream:
        assert stream.headers["content-type"] == "text/event-stream"
        lines = stream.iter_lines()
        first = next(line for line in lines if line)
        assert first.startswith("data: first from replica ")
        control(web, int(first.rsplit(" ", 1)[1]), "release", key=key)
        assert [line for line in lines if line] == ["data: last (released)"]

    # An endless stream ends with its reader: the proxy closes the replica's connection.
    with httpx.stream("GET", proxied(deployment, "web", f"/ticks?key={key}"), headers=bearer(deployment.token),
                      timeout=30) as stream:
        tick = next(line for line in stream.iter_lines() if line)
    replica = int(tick.rsplit(" ", 1)[1])
    poll("the replica's stream to end", lambda: key in replica_state(web, replica)["ended_streams"], timeout=30)


def test_websockets_echo_and_close_codes_pass_both_ways(deployment: DurastackProcesses, web: dict[str, Any]) -> None:
    url = proxied(deployment, "web", "/ws?room=1").replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=30)
    assert refused.value.response.status_code == 401

    with connect(url, additional_headers=bearer(deployment.token), subprotocols=["chat"],  # type: ignore[list-item]
                 open_timeout=30) as socket:
        assert socket.subprotocol == "chat"
        hello = str(socket.recv(timeout=30))
        assert hello.startswith("hello from replica ")
        socket.send("one")
        socket.send(b"\x00\x01binary")
        assert (socket.recv(timeout=30), socket.recv(timeout=30)) == ("one", b"\x00\x01binary")
        socket.send("close-me")  # the replica closes with 4001 "bye"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=30)
        assert closed.value.rcvd is not None and (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "bye")

    with connect(url, additional_headers=bearer(deployment.token), open_timeout=30) as socket:
        replica = int(str(socket.recv(timeout=30)).rsplit(" ", 1)[1])
        socket.close(code=4002)
    poll("the replica to see the client's close code",
         lambda: replica_state(web, replica)["last_close"] == 4002, timeout=30)


def served_by(http: httpx.Client, url: str) -> int:
    answer = http.get(url)
    assert answer.status_code == 200, answer.text
    replica: int = answer.json()["replica"]
    return replica


def test_probes_decide_which_replicas_get_requests(deployment: DurastackProcesses, http: httpx.Client) -> None:
    """Both replicas start failing their probe; each gets requests only while its probe passes."""
    api = deployment.client()
    api.apply(service("probed", "--unhealthy", "0,1", replicas=2,
                      probes=[{"url": "/health", "interval": "0.3s", "timeout": "2s"}]))
    run = api.wait_for("probed", lambda run: run["running_replicas"] == 2, what="2 running replicas")
    poll("both replicas listening", lambda: listening(run, 0) and listening(run, 1))
    url = proxied(deployment, "probed", "/who")
    refused = http.get(url)
    assert (refused.status_code, refused.json()["detail"]) == (503, "service probed has no ready replica")

    control(run, 0, "health", ok="1")
    wait_serving(api, "probed", {0})
    # The proxy's view is at most half a second older than the projection.
    poll("the proxy serving from replica 0", lambda: http.get(url).status_code == 200, timeout=30)
    assert {served_by(http, url) for _ in range(6)} == {0}  # replica 1 still fails its probe

    control(run, 1, "health", ok="1")
    wait_serving(api, "probed", {0, 1})
    poll("a request served by replica 1", lambda: served_by(http, url) == 1, timeout=30)

    control(run, 0, "health", ok="0")  # a probe that starts failing takes the replica out
    wait_serving(api, "probed", {1})
    poll("requests served by replica 1 only", lambda: {served_by(http, url) for _ in range(6)} == {1}, timeout=30)
    assert "not ready: probe GET /health answered 503" in str(api.get("probed")["events"])
    api.ok("runs/stop", {"runs_names": ["probed"], "abort": True})


def test_a_refused_connection_goes_to_another_replica(deployment: DurastackProcesses, http: httpx.Client) -> None:
    """Replica 1 stops listening just after a probe passed: until its next probe (2 s on) the
    proxy still takes it for ready. Requests that may be repeated go to replica 0; a POST is
    answered 502."""
    api = deployment.client()
    api.apply(service("flaky", replicas=2, probes=[{"url": "/health", "interval": "2s", "timeout": "2s"}]))
    run = wait_serving(api, "flaky", {0, 1})
    control(run, 1, "stop-listening", after_probe="1")
    answers = [http.get(proxied(deployment, "flaky", "/again")) for _ in range(4)]
    assert [(answer.status_code, answer.json()["replica"]) for answer in answers] == [(200, 0)] * 4
    posts = [http.post(proxied(deployment, "flaky", "/once"), content=b"x") for _ in range(2)]
    assert sorted(post.status_code for post in posts) == [200, 502]
    assert [post.json()["detail"] for post in posts if post.status_code == 502] == [
        "service flaky: replica 1: connection refused"]
    run_id = run["id"]
    assert any("replica refused the connection; trying the next" in line and run_id in line
               for line in deployment.read_log("api").splitlines())
    api.ok("runs/stop", {"runs_names": ["flaky"], "abort": True})


def test_a_replica_scaled_down_finishes_its_requests_and_gets_no_new_ones(deployment: DurastackProcesses,
                                                                         http: httpx.Client) -> None:
    api = deployment.client()
    api.apply(service("shrink", replicas="1..2"))
    api.ok("runs/scale", {"runs_names": ["shrink"], "replicas": 2})
    run = wait_serving(api, "shrink", {0, 1})

    slow: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: slow.append(http.get(proxied(deployment, "shrink", "/slow?seconds=4"))))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    poll("a slow request in progress on each replica",
         lambda: all(replica_state(run, num)["in_flight"] == 1 for num in (0, 1)), timeout=30)
    api.ok("runs/scale", {"runs_names": ["shrink"], "replicas": 1})

    # Requests that can't be repeated elsewhere, all the way through the drain and the stop: none
    # may reach the replica once it has stopped listening.
    statuses: Counter[int] = Counter()
    removed: int | None = None
    while removed is None:
        statuses[http.post(proxied(deployment, "shrink", "/during"), content=b"x").status_code] += 1
        finished = [num for num, s in current_submissions(api.get("shrink")).items() if s["status"] == "terminated"]
        removed = finished[0] if finished else None
        assert sum(statuses.values()) < 2000, "the replica was never terminated"
    assert statuses.keys() == {200}, statuses
    for thread in threads:
        thread.join(timeout=30)
    assert sorted((answer.status_code, answer.text) for answer in slow) == [
        (200, f'{{"replica": {num}, "slept": 4.0}}') for num in (0, 1)]
    assert {served_by(http, proxied(deployment, "shrink", "/after")) for _ in range(4)} == {1 - removed}
    api.ok("runs/stop", {"runs_names": ["shrink"], "abort": True})


def test_a_request_waits_for_a_service_scaled_to_zero(deployment: DurastackProcesses, http: httpx.Client) -> None:
    """No ready replica of an autoscaled service with `min: 0`: the request waits (the waker
    starts one) and is answered once a replica is ready. Here the replica is held unready by its
    probe until the request is seen waiting."""
    api = deployment.client()
    api.apply(service("sleepy", "--unhealthy", "0", replicas="0..1",
                      scaling={"target": 100, "scale_down_delay": "1h"},
                      probes=[{"url": "/health", "interval": "0.3s", "timeout": "2s"}]))
    run = api.wait_for("sleepy", lambda run: run["running_replicas"] == 1, what="a running replica")
    poll("the replica listening", lambda: listening(run, 0))
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(http.get(proxied(deployment, "sleepy", "/wake"))))
    waiting.start()
    poll("the request waiting", lambda: any("request waits for a replica" in line and run["id"] in line
                                            for line in deployment.read_log("api").splitlines()), timeout=30)
    assert not answers
    control(run, 0, "health", ok="1")
    waiting.join(timeout=60)
    assert [(answer.status_code, answer.json()["replica"]) for answer in answers] == [(200, 0)]
    api.ok("runs/stop", {"runs_names": ["sleepy"], "abort": True})


def test_the_cli_shows_a_service_s_url(deployment: DurastackProcesses, web: dict[str, Any], tmp_path: Path) -> None:
    listed = subprocess.run([sys.executable, "-m", "cli.main", "ps"], cwd=REPO, env=deployment.env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert ["web", f"{deployment.url}/proxy/services/main/web/", "2"] in [line.split() for line in
                                                                         listed.stdout.splitlines()]

    (tmp_path / "svc.yml").write_text(yaml.safe_dump(service("cli-svc")))
    apply = subprocess.Popen([sys.executable, "-m", "cli.main", "apply", "-f", str(tmp_path / "svc.yml")], cwd=REPO,
                             env=deployment.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert apply.stderr is not None
        for line in apply.stderr:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        poll("apply saying where the service is", lambda: any("serving at" in line for line in lines))
        assert f"cli-svc: serving at {deployment.url}/proxy/services/main/cli-svc/" in lines
    finally:
        apply.terminate()  # it would follow the logs for as long as the service runs
        apply.wait(timeout=30)
    ApiClient(deployment.url, deployment.token).ok("runs/stop", {"runs_names": ["cli-svc"], "abort": True})


def test_a_rolling_update_under_load_fails_no_request_and_a_failed_one_rolls_back(
        deployment: DurastackProcesses) -> None:
    """POSTs (never retried by the proxy) all through a rolling update, then through one whose new
    replica crashes: every answer is a 200 from a ready replica."""
    api = deployment.client()
    first = service("rolling", replicas=2, probes=[{"url": "/health", "interval": "0.3s", "timeout": "2s"}])
    api.apply(first)
    wait_serving(api, "rolling", {0, 1})
    url = proxied(deployment, "rolling", "/load")
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(headers=bearer(deployment.token), timeout=30) as client:
            while not stop.is_set():
                statuses[client.post(url, content=b"x").status_code] += 1

    loader = threading.Thread(target=load)
    loader.start()
    try:
        second = {**first, "env": {"DEPLOYMENT": "2"}}
        plan = api.ok("runs/get_plan", {"run_spec": {"configuration": second}})
        assert plan["action"] == "rolling_update" and "Roll out the new configuration" in plan["message"]
        api.ok("runs/apply", {"run_spec": {"configuration": second}})
        run = api.wait_for("rolling", lambda run: "rolling update to deployment 1 done" in messages(run),
                           timeout=120, what="deployment 1 rolled out")
        assert {s["deployment_num"] for s in current_submissions(run).values() if s["status"] == "running"} == {1}
        served = sum(statuses.values())

        api.ok("runs/apply", {"run_spec": {"configuration": {**second, "commands": ["exit 3"]}}})
        run = api.wait_for("rolling", lambda run: any(m.startswith("rolling update to deployment 2 failed")
                                                      for m in messages(run)), timeout=60, what="rolled back")
        poll("requests served after the rollback", lambda: sum(statuses.values()) > served + 20, timeout=30)
    finally:
        stop.set()
        loader.join(timeout=60)
    assert statuses.keys() == {200} and sum(statuses.values()) > 40, statuses
    failure = next(m for m in messages(run) if m.startswith("rolling update to deployment 2 failed"))
    assert "ended (exit code 3) before it was ready; deployment 1 goes on serving" in failure
    assert run["configuration"]["env"] == {"DEPLOYMENT": "2"} and "exit 3" not in run["configuration"]["commands"]
    api.ok("runs/stop", {"runs_names": ["rolling"], "abort": True})


def messages(run: dict[str, Any]) -> list[str]:
    return [event["message"] for event in run["events"]]
