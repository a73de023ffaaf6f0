"""Code goes with the run: `apply` uploads the configuration's directory once, and each replica
runs in its own unpacked copy on whichever host runs it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cli.code_upload import pack_directory
from cli.output import format_bytes
from tests.support.durastack import ApiClient, DurastackProcesses

pytestmark = pytest.mark.integration

SMALL = {"cpu": 0.1, "memory": "16MB"}


def upload(deployment: DurastackProcesses, body: bytes | Iterator[bytes], token: str | None = None,
           project: str = "main") -> httpx.Response:
    return httpx.post(f"{deployment.url}/api/project/{project}/code/upload", content=body, timeout=60,
                      headers={"Authorization": f"Bearer {token or deployment.token}",
                               "Content-Type": "application/octet-stream"})


def project_directory(root: Path, configuration: dict[str, Any], files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "run.yml").write_text(yaml.safe_dump(configuration))
    return root / "run.yml"


def test_a_replica_runs_in_its_own_copy_of_the_uploaded_directory(deployment: DurastackProcesses,
                                                                 tmp_path: Path) -> None:
    api = deployment.client()
    run_file = project_directory(tmp_path / "project", {
        "type": "task", "name": "code-travels", "replicas": 2, "resources": SMALL, "working_dir": "src",
        "commands": ["pwd", "cat ../data.txt", "test ! -e ../secret.txt && echo 'the secret stayed home'",
                     "test \"$(stat -c %u ../data.txt)\" = \"$(id -u)\" && echo 'owned by the job user'",
                     "whoami"],
    }, {"data.txt": "only in the uploaded directory\n", "secret.txt": "token\n",
        ".durastackignore": "secret.txt\n", "src/main.py": "print('hi')\n"})
    # The jobs read the configuration's directory from their own homes, never from here.
    (tmp_path / "project").chmod(0o700)
    archive = pack_directory(run_file.parent)
    assert archive.files == 4  # run.yml, data.txt, .durastackignore, src/main.py

    first = deployment.cli("apply", "-f", str(run_file))
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines()[0] == (
        f"Uploaded code: 4 files, {format_bytes(len(archive.data))} (sha256 {archive.hash[:8]})")
    run = api.get("code-travels")
    for job in run["jobs"]:
        home = deployment.workspaces / job["job_submissions"][-1]["id"]
        lines = [line.removeprefix(f"[{job['replica_num']}] ") for line in first.stdout.splitlines()
                 if line.startswith(f"[{job['replica_num']}] ")]
        *checks, user = lines
        assert checks == [str(home / "src"), "only in the uploaded directory", "the secret stayed home",
                          "owned by the job user"]
        if os.geteuid() == 0:  # jobs have users of their own, and the code is theirs
            assert user.startswith("dsjob")

    # The host fetched the archive once for both replicas, into the server's private state directory.
    cached = deployment.directory / "server" / "code" / f"{archive.hash}.tar.gz"
    assert cached.read_bytes() == archive.data
    assert (cached.stat().st_mode & 0o777, cached.parent.stat().st_mode & 0o777) == (0o600, 0o700)

    # Unchanged: not uploaded again, and the new run takes the same code.
    second = deployment.cli("apply", "-f", str(run_file))
    assert second.returncode == 0, second.stderr
    assert second.stderr.splitlines()[0] == f"Code unchanged (sha256 {archive.hash[:8]})"
    assert "only in the uploaded directory" in second.stdout
    again = upload(deployment, archive.data)
    assert (again.status_code, again.json()) == (200, {"hash": archive.hash, "size": len(archive.data),
                                                       "created": False})


def test_the_upload_and_get_info_endpoints(deployment: DurastackProcesses) -> None:
    api = deployment.client()
    data = b"not even an archive: the server stores bytes by their hash " + deployment.token.encode()
    code_hash = hashlib.sha256(data).hexdigest()
    assert api.post("code/get_info", {"hash": code_hash}).status_code == 404

    created = upload(deployment, data)
    assert (created.status_code, created.json()) == (200, {"hash": code_hash, "size": len(data), "created": True})
    assert api.ok("code/get_info", {"hash": code_hash}) == {"hash": code_hash, "size": len(data)}
    assert upload(deployment, data).json()["created"] is False

    empty = upload(deployment, b"")
    assert (empty.status_code, empty.json()["detail"]) == (400, "the body is empty: send the code as a tar.gz archive")
    malformed = api.post("code/get_info", {"hash": "ABC"})
    assert (malformed.status_code, malformed.json()["field"]) == (400, "hash")

    # Past 100 MB, streamed without a length: refused once the limit is crossed, naming it.
    chunk = b"\0" * (1024 * 1024)
    too_large = upload(deployment, iter([chunk] * 101))
    assert (too_large.status_code, too_large.json()["detail"]) == (
        413, "the code archive is larger than the limit of 100 MB")


@pytest.mark.parametrize("path", ["runs/apply", "runs/get_plan"])
def test_a_run_names_code_its_project_has(deployment: DurastackProcesses, path: str) -> None:
    api = deployment.client()
    configuration = {"type": "task", "name": "unknown-code", "commands": ["true"], "resources": SMALL}
    for code_hash, message in (("0" * 64, f"run_spec.repo_code_hash: project main has no code with sha256 {'0' * 64}; "
                                          "upload it first (code/upload)"),
                               ("not-a-hash", "run_spec.repo_code_hash: String should match pattern")):
        refused = api.post(path, {"run_spec": {"configuration": configuration, "repo_code_hash": code_hash}})
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "run_spec.repo_code_hash"
        assert refused.json()["detail"].startswith(message)
    assert api.ok("runs/list", {"run_name": "unknown-code"}) == []


def test_code_belongs_to_its_project(deployment: DurastackProcesses) -> None:
    admin = deployment.client()
    user = admin.http.post("/api/users/create", json={"username": "coder"}).json()
    token = user["token"]["token"]
    coder_http = httpx.Client(base_url=deployment.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert coder_http.post("/api/projects/create", json={"project_name": "coders"}).status_code == 200
    coder = ApiClient(deployment.url, token, project="coders")

    mains = b"main's code " + deployment.token.encode()
    mains_hash = upload(deployment, mains).json()["hash"]
    # Not a member of main: its code is as unknown to them as the project itself.
    assert upload(deployment, b"theirs", token=token).status_code == 404
    outside = httpx.post(f"{deployment.url}/api/project/main/code/get_info", json={"hash": mains_hash},
                         headers={"Authorization": f"Bearer {token}"})
    assert (outside.status_code, outside.json()["detail"]) == (404, "project main not found")
    # In their own project they may upload, and main's hash means nothing there.
    assert upload(deployment, b"theirs", token=token, project="coders").status_code == 200
    assert coder.post("code/get_info", {"hash": mains_hash}).status_code == 404
    refused = coder.post("runs/apply", {"run_spec": {"repo_code_hash": mains_hash, "configuration": {
        "type": "task", "commands": ["true"], "resources": SMALL}}})
    assert (refused.status_code, refused.json()["field"]) == (400, "run_spec.repo_code_hash")
    assert upload(deployment, b"anonymous", token="not-a-token").status_code == 401


def test_other_code_rolls_out_to_an_active_service(deployment: DurastackProcesses, tmp_path: Path) -> None:
    api = deployment.client()
    configuration = {"type": "service", "name": "code-svc", "port": 8000, "commands": ["cat app.py; sleep 300"],
                     "resources": SMALL, "stop_duration": "1s", "probes": [{"url": "/", "interval": "0.5s"}]}
    hashes = []
    for version in ("1", "2"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "app.py").write_text(f"VERSION = {version}\n")
        hashes.append(upload(deployment, pack_directory(tmp_path / version).data).json()["hash"])
    api.ok("runs/apply", {"run_spec": {"configuration": configuration, "repo_code_hash": hashes[0]}})
    api.wait_for("code-svc", lambda run: run["running_replicas"] == 1, what="running")

    def plan(code_hash: str | None) -> dict[str, Any]:
        return api.ok("runs/get_plan", {"run_spec": {"configuration": configuration, "repo_code_hash": code_hash}})

    assert plan(hashes[0])["action"] == "no_change"
    changed = plan(hashes[1])
    assert (changed["action"], changed["changes"]) == ("rolling_update", [
        {"field": "repo_code_hash", "old": hashes[0], "new": hashes[1]}])
    assert "its configuration changed in: code" in changed["message"]
    assert plan(None)["action"] == "rolling_update"
    # While the rollout waits for its replica to become ready (nothing listens on its port), another
    # apply is refused; a stop ends both deployments' replicas, the first one never replaced.
    first = api.get("code-svc")["jobs"][0]["job_submissions"][-1]
    rolling = api.post("runs/apply", {"run_spec": {"configuration": configuration, "repo_code_hash": hashes[1]}})
    assert rolling.status_code == 200, rolling.text
    again = api.post("runs/apply", {"run_spec": {"configuration": configuration, "repo_code_hash": hashes[0]}})
    assert again.status_code == 409 and "still rolling out deployment 1" in again.json()["detail"]
    api.ok("runs/stop", {"runs_names": ["code-svc"], "abort": True})
    final = api.wait_finished("code-svc")
    assert final["jobs"][0]["job_submissions"][-1]["id"] == first["id"]
    assert [job["job_submissions"][-1]["deployment_num"] for job in final["jobs"]] == [0, 1]
