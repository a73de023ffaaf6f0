"""The OpenAPI document (/schema/openapi.json) says what the API does: schemathesis makes requests
of every operation from it, valid and invalid, against a real `durastack api`, and checks every
answer against it (no 5xx, documented status codes, content types, bodies and events), that what
the document forbids is refused and what it allows is accepted, and that a request without the
token is refused. schemathesis.toml beside this file has its settings and says why each check it
restricts is restricted."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.durastack import DurastackProcesses

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).with_name("schemathesis.toml")


# One database is enough for the contract (test_api_errors.py runs its cases on both); two double the time.
@pytest.mark.parametrize("database_kind", ["sqlite"], indirect=True)
def test_the_api_keeps_its_openapi_contract(deploy: Callable[..., DurastackProcesses], tmp_path: Path) -> None:
    # Without a rate limit (tests/support/durastack.py): with one, most requests would get a 429.
    deployment = deploy()
    # A finished run with a line of output, so that runs/get, logs and metrics have something to find.
    api = deployment.client()
    api.apply({"type": "task", "name": "hello", "commands": ["echo hello"],
               "resources": {"cpu": 0.1, "memory": "32MB"}})
    api.wait_finished("hello")

    # The report and hypothesis's files go to tmp_path, not the checkout.
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color", "run",
         f"{deployment.url}/schema/openapi.json", "--header", f"Authorization: Bearer {deployment.token}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, f"schemathesis found the API and its schema apart:\n{result.stdout}{result.stderr}"
