"""The log endpoints the web UI reads, against real runs: a page of a log's end and the pages
before it, every replica's lines merged with their replica numbers, and the whole log as a
download at any size, with the caller's token and project checked."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

SMALL = {"cpu": 0.1, "memory": "16MB"}


def task(name: str, command: str, replicas: int = 1) -> dict[str, Any]:
    return {"type": "task", "name": name, "commands": [command], "resources": SMALL, "stop_duration": "1s",
            "replicas": replicas}


def download(deployment: DurastackProcesses, **params: Any) -> httpx.Response:
    return httpx.get(f"{deployment.url}/api/project/main/logs/download", params=params, timeout=120,
                     headers={"Authorization": f"Bearer {deployment.token}"})


def finished(api: ApiClient, name: str, command: str, replicas: int = 1) -> str:
    run_id: str = api.apply(task(name, command, replicas))["id"]
    api.wait_finished(name, timeout=180)
    return run_id


@pytest.mark.parametrize("lines", [25_000, 120_000])
def test_the_whole_log_downloads_at_any_size(deployment: DurastackProcesses, lines: int) -> None:
    api = deployment.client()
    name = f"big-{uuid.uuid4().hex[:6]}"
    run_id = finished(api, name, f"seq 1 {lines}")

    response = download(deployment, run_name=name)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == f'attachment; filename="{name}-replica-0.log"'
    assert response.text.splitlines() == [str(i) for i in range(1, lines + 1)]

    by_id = download(deployment, run_id=run_id, all_replicas="true", timestamps="true")
    assert by_id.headers["content-disposition"] == f'attachment; filename="{name}-all-replicas.log"'
    text = by_id.text.splitlines()
    assert len(text) == lines
    assert text[-1].endswith(f"Z [replica 0] {lines}") and text[-1][:4].isdigit(), text[-1]


def test_a_log_end_first_then_the_pages_before_it(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"tail-{uuid.uuid4().hex[:6]}"
    finished(api, name, "seq 1 2500")

    end = api.ok("logs/poll", {"run_name": name, "descending": True, "limit": 1000})
    assert [line["message"] for line in end["logs"]] == [str(i) for i in range(2500, 1500, -1)]
    assert end["follow_token"] is not None
    read = [line["message"] for line in end["logs"]]
    token = end["next_token"]
    while token is not None:
        page = api.ok("logs/poll", {"run_name": name, "descending": True, "limit": 1000, "next_token": token})
        read += [line["message"] for line in page["logs"]]
        token = page["next_token"]
    assert read == [str(i) for i in range(2500, 0, -1)]
    after_end = api.ok("logs/poll", {"run_name": name, "next_token": end["follow_token"]})
    assert after_end["logs"] == []


def test_every_replica_with_its_number(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"replicas-{uuid.uuid4().hex[:6]}"
    finished(api, name, "for i in 1 2 3; do echo replica-$DURASTACK_REPLICA_NUM-line-$i; done", replicas=3)

    page = api.ok("logs/poll_all_replicas", {"run_name": name})
    lines = [(line["replica_num"], line["message"]) for line in page["logs"]]
    assert sorted(lines) == [(replica, f"replica-{replica}-line-{i}") for replica in range(3) for i in (1, 2, 3)]
    times = [line["timestamp"] for line in page["logs"]]
    assert times == sorted(times)
    assert api.ok("logs/poll_all_replicas", {"run_name": name, "next_token": page["next_token"]})["logs"] == []

    end = api.ok("logs/poll_all_replicas", {"run_name": name, "descending": True, "limit": 4})
    assert [(line["replica_num"], line["message"]) for line in end["logs"]] == lines[::-1][:4]
    earlier = api.ok("logs/poll_all_replicas", {"run_name": name, "descending": True,
                                               "next_token": end["next_token"]})
    assert [(line["replica_num"], line["message"]) for line in earlier["logs"]] == lines[::-1][4:]
    assert earlier["next_token"] is None  # the first line has been read

    text = download(deployment, run_name=name, all_replicas="true").text.splitlines()
    assert text == [f"[replica {replica}] {message}" for replica, message in lines]


def test_log_endpoints_check_the_token_the_project_and_their_input(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    name = f"guarded-{uuid.uuid4().hex[:6]}"
    finished(api, name, "echo secret-line")
    url = f"{deployment.url}/api/project/main/logs/download"

    assert httpx.get(url, params={"run_name": name}).status_code == 401
    # The download takes the Bearer header only: a token in a URL ends up in logs and history.
    in_query = httpx.get(url, params={"run_name": name, "token": deployment.token})
    assert in_query.status_code == 401 and "secret-line" not in in_query.text
    outsider = f"outsider-{uuid.uuid4().hex[:6]}"
    created = httpx.post(f"{deployment.url}/api/users/create", json={"username": outsider},
                         headers={"Authorization": f"Bearer {deployment.token}"}).json()
    stranger = {"Authorization": f"Bearer {created['token']['token']}"}
    assert httpx.get(url, params={"run_name": name}, headers=stranger).status_code == 404
    assert httpx.post(f"{deployment.url}/api/project/main/logs/poll_all_replicas", json={"run_name": name},
                      headers=stranger).status_code == 404

    for params, field in (({"run_name": name, "run_id": "x"}, None),
                          ({"run_name": name, "all_replicas": "true", "replica_num": 0}, "replica_num"),
                          ({"run_name": name, "replica_num": 10_001}, "replica_num")):
        response = download(deployment, **params)
        assert response.status_code == 400, (params, response.text)
        assert response.json().get("field") == field, response.json()
    for body, field in (({"run_name": name, "next_token": "0:5"}, "next_token"),  # one replica's token
                        ({"run_name": name, "next_token": "10001:0:0"}, "next_token"),
                        ({"run_name": name, "replica_num": 0}, None)):  # no such field here
        response = api.post("logs/poll_all_replicas", body)
        assert response.status_code == 400, (body, response.text)
        if field:
            assert response.json()["field"] == field
    assert api.post("logs/poll", {"run_name": name, "next_token": "0:0:5"}).status_code == 400
    assert download(deployment, run_name="no-such-run").status_code == 404
