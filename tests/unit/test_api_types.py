"""The UI's API types are generated from the code (scripts/generate-api-types): the OpenAPI
document the API serves, committed as ui/src/api/openapi.json, and the TypeScript that
openapi-typescript makes of it, ui/src/api/schema.d.ts. Both must be those of the code as it is."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from api.openapi_dump import openapi_json

UI = Path(__file__).resolve().parents[2] / "ui"
DOCUMENT = UI / "src" / "api" / "openapi.json"
TYPES = UI / "src" / "api" / "schema.d.ts"
GENERATOR = UI / "node_modules" / ".bin" / "openapi-typescript"
REGENERATE = "the API changed: run scripts/generate-api-types and commit ui/src/api/openapi.json and schema.d.ts"


def test_the_committed_openapi_document_is_the_apis() -> None:
    assert DOCUMENT.read_text() == openapi_json(), REGENERATE


def test_the_committed_typescript_is_generated_from_the_document() -> None:
    if shutil.which("node") is None or not GENERATOR.exists():
        pytest.skip("openapi-typescript is not installed: run scripts/build-ui (npm ci in ui/)")
    # The same command as the ui package's generate:api script, with the types on stdout.
    generated = subprocess.run([str(GENERATOR), str(DOCUMENT), "--default-non-nullable", "false"], cwd=UI,
                               capture_output=True, text=True, check=True, timeout=60).stdout
    assert TYPES.read_text() == generated, REGENERATE
