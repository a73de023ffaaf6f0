"""Prints the API's OpenAPI document, as /schema/openapi.json serves it, without starting a server:
`.venv/bin/python -m api.openapi_dump > ui/src/api/openapi.json` (scripts/generate-api-types
also makes the UI's TypeScript types from it)."""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from typing import Any, cast

from api.app import Services, create_app


def openapi_document() -> dict[str, Any]:
    # The document comes from the handlers and models alone; no request reaches the services.
    services = cast(Any, Services)(**{field.name: None for field in fields(Services)})
    return create_app(services).openapi_schema.to_schema()


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_json())
