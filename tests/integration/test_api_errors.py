"""Bad input and bad credentials get a 4xx with a readable message; nothing is created."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from store.accounts import Accounts
from store.database import Database
from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

VALID = {"type": "task", "commands": ["true"], "resources": {"cpu": 0.5, "memory": "64MB"}}

BAD_CONFIGURATIONS = [
    ({**VALID, "replicas": 0}, "run_spec.configuration.replicas: Input should be greater than or equal to 1"),
    ({**VALID, "resources": {"memory": "lots"}}, "run_spec.configuration.resources.memory: 'lots' is not a size"),
    ({**VALID, "max_duration": "forever"}, "run_spec.configuration.max_duration: 'forever' is not a duration"),
    ({**VALID, "colour": "blue"}, "run_spec.configuration.colour: unknown field"),
    ({**VALID, "type": "job"}, "run_spec.configuration: type must be 'task' or 'service'"),
    ({"commands": ["true"]}, "run_spec.configuration.type: required: 'task' or 'service'"),
    ({**VALID, "commands": []}, "run_spec.configuration.commands: List should have at least 1 item"),
    ({**VALID, "name": "Not_A_Name"}, "run_spec.configuration.name: String should match pattern"),
    ({**VALID, "type": "service", "replicas": "3..1", "port": 80},
     "run_spec.configuration.replicas: min (3) is greater than max (1)"),
    ({**VALID, "type": "service"}, "run_spec.configuration.port: Field required"),
]


def test_invalid_configurations_are_refused_naming_the_field(deploy: Callable[..., DurastackProcesses]) -> None:
    api = deploy().client()
    for configuration, expected in BAD_CONFIGURATIONS:
        response = api.post("runs/apply", {"run_spec": {"configuration": configuration}})
        assert response.status_code == 400, (configuration, response.text)
        assert response.json()["detail"].startswith(expected), (configuration, response.json())

    malformed = [
        (b"not json", ""),
        (b'{"run_spec": {"configuration": "text"}}', "run_spec.configuration"),
        (b'{"run_spec": {}}', "run_spec.configuration: Field required"),
        (b'{"runs_spec": {}}', "run_spec"),
    ]
    for body, expected_text in malformed:
        response = api.http.post("/api/project/main/runs/apply", content=body,
                                 headers={"content-type": "application/json"})
        assert response.status_code == 400, (body, response.text)
        assert expected_text in response.json()["detail"], (body, response.json())
    assert api.ok("runs/list", {}) == []  # nothing was created


def test_other_requests_with_bad_fields_are_refused(deploy: Callable[..., DurastackProcesses]) -> None:
    api = deploy().client()
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        ("runs/stop", {"runs_names": []}, "runs_names"),
        ("runs/stop", {"runs_names": "a"}, "runs_names"),
        ("runs/get", {}, "give exactly one of run_name or id"),
        ("runs/list", {"limit": 0}, "limit"),
        ("logs/poll", {"run_name": "x", "replica_num": -1}, "replica_num"),
        ("logs/poll", {"run_name": "x", "next_token": "garbage"}, None),
    ]
    for path, body, field in cases:
        response = api.post(path, body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        if field:
            assert field in response.json()["detail"], (path, response.json())
    assert api.post("runs/get", {"run_name": "ghost"}).status_code == 404
    assert api.post("runs/get", {"run_name": "ghost"}).json()["detail"] == "run ghost not found in project main"


def test_active_name_conflict_is_409(deploy: Callable[..., DurastackProcesses]) -> None:
    api = deploy().client()
    api.apply({**VALID, "name": "taken", "commands": ["sleep 30"]})
    response = api.post("runs/apply", {"run_spec": {"configuration": {**VALID, "name": "taken"}}})
    assert response.status_code == 409
    assert "run taken is already active" in response.json()["detail"]
    api.ok("runs/stop", {"runs_names": ["taken"], "abort": True})


def test_tokens_and_project_access(deploy: Callable[..., DurastackProcesses]) -> None:
    deployment = deploy()
    outsider_token = asyncio.run(_create_outsider(deployment.env["DATABASE_URL"]))
    endpoints = [("POST", "runs/apply", {"run_spec": {"configuration": VALID}}), ("POST", "runs/list", {}),
                 ("POST", "runs/get", {"run_name": "x"}), ("POST", "runs/stop", {"runs_names": ["x"]}),
                 ("POST", "runs/delete", {"runs_names": ["x"]}), ("POST", "logs/poll", {"run_name": "x"})]
    for _, path, body in endpoints:
        url = f"{deployment.url}/api/project/main/{path}"
        missing = httpx.post(url, json=body)
        assert (missing.status_code, missing.json()["detail"]) == (
            401, "missing token: send 'Authorization: Bearer <token>'")
        wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"})
        assert (wrong.status_code, wrong.json()["detail"]) == (401, "invalid or revoked token")
        outsider = httpx.post(url, json=body, headers={"Authorization": f"Bearer {outsider_token}"})
        assert (outsider.status_code, outsider.json()["detail"]) == (404, "project main not found")
        unknown = httpx.post(f"{deployment.url}/api/project/nowhere/{path}", json=body,
                             headers={"Authorization": f"Bearer {deployment.token}"})
        assert (unknown.status_code, unknown.json()["detail"]) == (404, "project nowhere not found")
    follow = httpx.get(f"{deployment.url}/api/project/main/logs/follow", params={"run_name": "x"})
    assert follow.status_code == 401
    assert deployment.client().ok("runs/list", {}) == []


# What the databases can't hold, or a request can't mean: (method, path, body or query, field).
OUT_OF_RANGE: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "logs/poll", {"next_token": "0:1000000000000000000000000000000"}, "next_token"),
    ("POST", "logs/poll", {"next_token": "0:9223372036854775808"}, "next_token"),
    ("POST", "logs/poll", {"replica_num": 10**30}, "replica_num"),
    ("POST", "logs/poll", {"submission_num": 2**63}, "submission_num"),
    ("POST", "logs/poll", {"replica_num": True}, "replica_num"),
    ("GET", "metrics/job/{name}", {"replica_num": 2**70}, "replica_num"),
    ("GET", "metrics/job/{name}", {"after": "0001-01-01T00:00:00"}, "after"),
    ("GET", "metrics/job/{name}", {"after": "0.5"}, "after"),
    ("POST", "runs/list", {"prev_submitted_at": "0001-01-01T00:00:00", "prev_run_id": "x"}, "prev_submitted_at"),
    ("POST", "runs/list", {"prev_submitted_at": 1700000000, "prev_run_id": "x"}, "prev_submitted_at"),
    ("POST", "/api/runs/list", {"prev_submitted_at": "0001-01-01T00:00:00", "prev_run_id": "x"},
     "prev_submitted_at"),
    ("POST", "runs/stop", {"runs_names": ["a\u0000b"]}, "runs_names.0"),  # PostgreSQL's text can't hold NUL
    ("GET", "logs/follow", {"next_token": "junk"}, "next_token"),
    ("GET", "logs/follow", {"next_token": "0:9223372036854775808"}, "next_token"),
    ("GET", "logs/follow", {"replica_num": 10**30}, "replica_num"),
    ("GET", "logs/follow", {"submission_num": 2**63}, "submission_num"),
]


def test_out_of_range_input_is_refused_before_anything_runs(deploy: Callable[..., DurastackProcesses]) -> None:
    """A 4xx naming the field, never a 500, and for the log stream never a 200 that is then cut."""
    deployment = deploy()
    api = deployment.client()
    api.apply({**VALID, "name": "hello", "commands": ["echo hello"]})
    api.wait_finished("hello")
    for method, path, fields, field in OUT_OF_RANGE:
        url = path if path.startswith("/") else f"/api/project/main/{path.format(name='hello')}"
        values = {"run_name": "hello", **fields} if path.startswith("logs/") else fields
        response = api.http.get(url, params=values) if method == "GET" else api.http.post(url, json=values)
        assert response.status_code == 400, (path, fields, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json"), (path, fields)
        body = response.json()
        assert (body["field"], body["detail"].split(":")[0]) == (field, field), (path, fields, body)

    # The edges are accepted: a time without an offset is UTC, and the largest log token.
    assert api.ok("runs/list", {"prev_submitted_at": "2000-01-01T00:00:00", "prev_run_id": "x"}) == []
    assert api.ok("logs/poll", {"run_name": "hello", "next_token": "999999999:999999999999999999"})["logs"] == []


def test_a_token_in_the_query_string_is_taken_by_the_log_stream_only(
        deploy: Callable[..., DurastackProcesses]) -> None:
    deployment = deploy()
    api = deployment.client()
    api.apply({**VALID, "name": "hello", "commands": ["echo hello"]})
    api.wait_finished("hello")
    token = {"token": deployment.token}

    # A browser's EventSource can't send headers, so the stream takes ?token=.
    stream = httpx.get(f"{deployment.url}/api/project/main/logs/follow", params={"run_name": "hello", **token})
    assert (stream.status_code, stream.headers["content-type"].split(";")[0]) == (200, "text/event-stream")
    assert '"message":"hello"' in stream.text and "event: end" in stream.text
    # Anywhere else a token in the URL would only end up in access logs and browser history.
    hint = "missing token: send 'Authorization: Bearer <token>' (only logs/follow accepts ?token=)"
    for response in (httpx.post(f"{deployment.url}/api/project/main/runs/list", params=token, json={}),
                     httpx.post(f"{deployment.url}/api/users/get_my_user", params=token, json={}),
                     httpx.get(f"{deployment.url}/api/project/main/metrics/run/hello", params=token)):
        assert (response.status_code, response.json()["detail"]) == (401, hint), response.request.url


@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)  # the limiter never reads the database
def test_each_token_is_rate_limited(deploy: Callable[..., DurastackProcesses]) -> None:
    deployment = deploy(env={"DURASTACK_RATE_LIMIT": "3"})
    admin = deployment.client()
    other = deployment.client(admin.http.post("/api/users/tokens/create", json={}).json()["token"])

    # Within one second, the fourth request of a token is refused; a second boundary may reset the
    # count once, so keep asking until it is.
    for _ in range(50):
        limited = admin.post("runs/list", {})
        if limited.status_code == 429:
            break
        assert limited.status_code == 200, limited.text
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert limited.json() == {"status_code": 429, "detail": "rate limit exceeded: 3 requests per 1 s per token "
                                                            "(or address, without a token); retry after 1 s"}
    # Another token, a caller without one and the static files are counted apart, or not at all.
    assert other.post("runs/list", {}).status_code == 200
    assert httpx.post(f"{deployment.url}/api/project/main/runs/list", json={}).status_code == 401
    for _ in range(5):
        assert httpx.get(f"{deployment.url}/schema/openapi.json").status_code == 200


async def _create_outsider(database_url: str) -> str:
    database = Database(database_url)
    try:
        _, token = await Accounts(database).create_user("outsider")
        return token
    finally:
        await database.dispose()
