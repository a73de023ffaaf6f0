"""The CLI's HTTP client against a fake server: error lines, pages, the log stream, `ps`, `scale`, `stats`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cli import stats_command
from cli.api_client import ApiClient, ApiError
from cli.client_config import ClientConfig
from cli.run_commands import RECENT_RUNS, _ps

CONFIG = ClientConfig(url="http://durastack.test", token="secret", project="main")


def client(handler: Callable[[httpx.Request], httpx.Response]) -> ApiClient:
    return ApiClient(CONFIG, transport=httpx.MockTransport(handler))


def test_requests_carry_the_token_and_the_project() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": []})

    client(handler).stop_runs(["a", "b"], abort=True)
    (request,) = seen
    assert request.url.path == "/api/project/main/runs/stop"
    assert request.headers["authorization"] == "Bearer secret"
    assert json.loads(request.content) == {"runs_names": ["a", "b"], "abort": True}


@pytest.mark.parametrize(("response", "message"), [
    (httpx.Response(404, json={"status_code": 404, "detail": "run x not found in project main"}),
     "run x not found in project main"),
    (httpx.Response(401, json={"status_code": 401, "detail": "invalid or revoked token"}),
     "invalid or revoked token (check --token, DURASTACK_TOKEN or the config file)"),
    (httpx.Response(502, text="Bad Gateway\n<html>"), "Bad Gateway"),
])
def test_a_refusal_is_its_detail(response: httpx.Response, message: str) -> None:
    with pytest.raises(ApiError) as raised:
        client(lambda _: response).get_run("x")
    assert (str(raised.value), raised.value.status_code) == (message, response.status_code)


def test_an_unreachable_server_is_one_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(ApiError, match=r"^can't reach the server at http://durastack.test: Connection refused$"):
        client(handler).get_run("x")


def listing(total: int) -> tuple[Callable[[httpx.Request], httpx.Response], list[dict[str, Any]]]:
    runs = [{"id": f"id-{i:03}", "submitted_at": f"2025-01-01T00:00:{59 - i % 60:02}+00:00"} for i in range(total)]
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        start = 0 if "prev_run_id" not in body else [r["id"] for r in runs].index(body["prev_run_id"]) + 1
        return httpx.Response(200, json=runs[start:start + body["limit"]])

    return handler, bodies


def test_all_runs_come_page_by_page_after_the_last_one_seen() -> None:
    handler, bodies = listing(250)
    runs = client(handler).list_runs(only_active=False)
    assert [run["id"] for run in runs] == [f"id-{i:03}" for i in range(250)]
    assert len(bodies) == 3
    assert bodies[1]["prev_run_id"] == "id-099"
    assert bodies[1]["prev_submitted_at"] == runs[99]["submitted_at"]
    assert all(body["include_deleted"] is False for body in bodies)


def test_a_limit_is_one_small_page() -> None:
    handler, bodies = listing(250)
    assert len(client(handler).list_runs(only_active=False, limit=10)) == 10
    assert [body["limit"] for body in bodies] == [10]


def sse(*events: tuple[str, dict[str, Any]]) -> httpx.Response:
    text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def test_follow_yields_log_events_until_the_end_event() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse(("log", {"message": "one"}), ("log", {"message": "two"}), ("end", {"run_id": "r"}))

    lines = list(client(handler).follow_logs(run_name=None, run_id="r", replica_num=1))
    assert [line["message"] for line in lines] == ["one", "two"]
    assert dict(seen[0].url.params) == {"replica_num": "1", "run_id": "r"}


def test_a_follow_cut_short_is_an_error() -> None:
    with pytest.raises(ApiError, match="ended early"):
        list(client(lambda _: sse(("log", {"message": "one"}))).follow_logs(run_name="a", run_id=None,
                                                                             replica_num=0))


def test_a_follow_of_an_unknown_run_is_its_detail() -> None:
    response = httpx.Response(404, json={"detail": "run a not found in project main"})
    with pytest.raises(ApiError, match=r"^run a not found in project main$"):
        list(client(lambda _: response).follow_logs(run_name="a", run_id=None, replica_num=0))


def test_ps_shows_old_active_runs_next_to_the_latest_ones(capsys: pytest.CaptureFixture[str]) -> None:
    def run(name: str, minute: int, status: str) -> dict[str, Any]:
        return {"id": name, "run_name": name, "status": status, "termination_reason": None, "running_replicas": 0,
                "desired_replicas": 1, "submitted_at": f"2025-01-01T00:{minute:02}:00+00:00", "cost": 0.0,
                "deleted": False, "jobs": []}

    old_active = run("old-active", 0, "running")
    recent = [run(f"done-{i}", 59 - i, "done") for i in range(RECENT_RUNS)]

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json=[old_active] if body["only_active"] else recent[:body["limit"]])

    assert _ps(client(handler), show_all=False) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert names == [*(f"done-{i}" for i in range(RECENT_RUNS)), "old-active"]


def test_scale_is_one_request_for_many_runs() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"run_name": "a", "id": "1", "outcome": "scaling"}]})

    assert client(handler).scale_runs(["a", "b"], 3) == [{"run_name": "a", "id": "1", "outcome": "scaling"}]
    (request,) = seen
    assert request.url.path == "/api/project/main/runs/scale"
    assert json.loads(request.content) == {"runs_names": ["a", "b"], "replicas": 3}


def test_stats_watch_prints_each_refresh_until_the_run_finishes(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    replica = {"replica_num": 0, "submission_num": 0, "status": "running", "cpu_percent": 10.0,
               "memory_bytes": 2048, "timestamp": "2025-01-01T00:00:00+00:00"}
    answers = [{"run_name": "svc", "status": "running", "replicas": [replica]},
               {"run_name": "svc", "status": "running", "replicas": [{**replica, "cpu_percent": 20.0}]},
               {"run_name": "svc", "status": "done", "replicas": []}]
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json=answers[len(paths) - 1])

    monkeypatch.setattr(stats_command, "REFRESH_SECONDS", 0)
    assert stats_command._stats(client(handler), argparse.Namespace(run_name="svc", watch=True)) == 0
    assert paths == ["/api/project/main/metrics/run/svc"] * 3
    captured = capsys.readouterr()
    rows = [line.split() for line in captured.out.splitlines() if line.strip() and not line.startswith("REPLICA")]
    assert rows == [["0", "0", "running", "10.0", "2.0KB"], ["0", "0", "running", "20.0", "2.0KB"]]
    assert captured.err == "svc: done; no replica is running\n"


def test_stats_watch_ends_quietly_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stats_command.time, "sleep", interrupted)
    answer = {"run_name": "svc", "status": "running", "replicas": []}
    stats = client(lambda _: httpx.Response(200, json=answer))
    assert stats_command._stats(stats, argparse.Namespace(run_name="svc", watch=True)) == 0
