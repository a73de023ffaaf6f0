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


async def _create_outsider(database_url: str) -> str:
    database = Database(database_url)
    try:
        _, token = await Accounts(database).create_user("outsider")
        return token
    finally:
        await database.dispose()
