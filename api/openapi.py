"""The OpenAPI document at /schema: Litestar builds it from the handlers and the pydantic models.
This module adds what Litestar leaves out: the constraints of optional fields, rules that a request
model states as a whole, and how callers authenticate."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityRequirement, SecurityScheme
from litestar.plugins.pydantic import PydanticSchemaPlugin

if TYPE_CHECKING:
    from litestar._openapi.schema_generation.schema import SchemaCreator
    from litestar.typing import FieldDefinition

BEARER = "bearer"
QUERY_TOKEN = "token_in_query"
# For the controllers' `security`; a handler's own adds alternatives to it.
BEARER_TOKEN: list[SecurityRequirement] = [{BEARER: []}]
# EventSource, the browser's SSE client, can't send headers.
QUERY_TOKEN_TOO: list[SecurityRequirement] = [{QUERY_TOKEN: []}]


class ModelRulesSchemaPlugin(PydanticSchemaPlugin):
    """Litestar builds a model's schema from its fields alone, and loses a field's constraints
    (pattern, bounds) when its type is `X | None` or a list of them. This fixes both:

    - a property without references to other schemas is pydantic's own JSON Schema of the field;
    - `extra="forbid"` becomes `additionalProperties: false`, and the model's `json_schema_extra`
      (rules across fields, such as "exactly one of run_name or id") is merged in.

    Request models (extra="forbid") are described as pydantic validates them, the others as it
    serializes them."""

    @classmethod
    def for_pydantic_model(cls, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model = field_definition.annotation
        forbids_extra = model.model_config.get("extra") == "forbid"
        generated = model.model_json_schema(mode="validation" if forbids_extra else "serialization")
        for name, property_schema in generated.get("properties", {}).items():
            # Properties that refer to other models or enums keep Litestar's schema, which makes
            # those components of the document.
            if schema.properties and name in schema.properties and "$ref" not in json.dumps(property_schema):
                property_schema.pop("title", None)
                schema.properties[name] = _litestar_schema(property_schema)
        if forbids_extra:
            schema.additional_properties = False
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict):
            for key, value in extra.items():
                setattr(schema, _SCHEMA_ATTRIBUTES[key], _litestar_schema(value))
        return schema


# JSON Schema keywords → attributes of Litestar's Schema: the same name ("pattern"), or an alias
# ("minLength" → "min_length").
_SCHEMA_ATTRIBUTES = {field.name: field.name for field in fields(Schema)} | Schema().field_aliases()
_SUBSCHEMAS = {"items", "not", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"}


def _litestar_schema(value: Any) -> Any:
    """A JSON Schema written as dicts, as Litestar's Schema objects (lists of them stay lists)."""
    if isinstance(value, list):
        return [_litestar_schema(item) for item in value]
    if not isinstance(value, dict):
        return value
    attributes: dict[str, Any] = {}
    for key, item in value.items():
        if key == "properties":
            item = {name: _litestar_schema(subschema) for name, subschema in item.items()}
        elif key in _SUBSCHEMAS:
            item = _litestar_schema(item)
        attributes[_SCHEMA_ATTRIBUTES[key]] = item
    return Schema(**attributes)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="durastack", version="0.1.0", path="/schema", render_plugins=[SwaggerRenderPlugin()],
        components=Components(security_schemes={
            BEARER: SecurityScheme(type="http", scheme="bearer",
                                   description="a durastack token: `Authorization: Bearer <token>`"),
            QUERY_TOKEN: SecurityScheme(type="apiKey", name="token", security_scheme_in="query",
                                        description="the token as `?token=`; only the log stream accepts it"),
        }))
