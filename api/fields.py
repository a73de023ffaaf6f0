"""Types of request fields, shared by the bodies (api/schemas.py, api/account_schemas.py) and the
query and path parameters (api/controllers.py).

Each one is bounded to what both databases hold, and says so in the OpenAPI document: replica and
submission numbers are 32-bit columns, log offsets 64-bit, times between 1970 and 9999, and
PostgreSQL can't store or compare text with a NUL character."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from core.configuration import RUN_NAME_PATTERN

MAX_REPLICA_NUM = 10_000
MAX_SUBMISSION_NUM = 2**31 - 1
USER_NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$"
# Project names go into workflow ids and URL paths, so they are as plain as run names.
PROJECT_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,49}$"
TEXT_PATTERN = r"^[^\x00]*$"
# A log cursor is "submission:offset"; digit counts keep both parts within their columns, so that
# the pattern alone says which tokens the server accepts.
LOG_TOKEN_PATTERN = r"^[0-9]{1,9}:[0-9]{1,18}$"
# The cursor of every replica's lines at once (api/services/log_cursors.py): "replica:submission:offset"
# for each replica, comma-separated (a replica named twice: its last entry counts).
_REPLICA_BOUNDARY = r"(10000|[0-9]{1,4}):[0-9]{1,9}:[0-9]{1,18}"
REPLICAS_LOG_TOKEN_PATTERN = rf"^{_REPLICA_BOUNDARY}(,{_REPLICA_BOUNDARY})*$"
MAX_REPLICAS_LOG_TOKEN_LENGTH = (MAX_REPLICA_NUM + 1) * 36
# An RFC 3339 date-time whose year is 1970..9999 (JSON Schema has no bounds for date-times).
TIME_PATTERN = r"^(19[7-9][0-9]|[2-9][0-9]{3})-"
TIME_DESCRIPTION = "an RFC 3339 date-time from 1970 to 9999; without an offset it is UTC"


def _only(*kinds: type, what: str) -> BeforeValidator:
    """Refuses values of other JSON types. Litestar validates bodies with strict=False, which
    overrides pydantic's own strict types, so a flag would also take 0 or "yes", a number "3" or
    false, and a time a number of seconds: none of which the schema allows."""

    def check(value: object) -> object:
        # bool is a subclass of int, but false is no number.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return BeforeValidator(check)


# JSON Schema's integers include 3.0 (pydantic takes it, and refuses 3.5).
_INTEGER = _only(int, float, what="an integer")
Flag = Annotated[bool, _only(bool, what="true or false")]
Integer = Annotated[int, _INTEGER]
# The bounds come before the check: after it, pydantic leaves them out of its JSON Schema.
ReplicaNum = Annotated[int, Field(ge=0, le=MAX_REPLICA_NUM), _INTEGER]
SubmissionNum = Annotated[int, Field(ge=0, le=MAX_SUBMISSION_NUM), _INTEGER]
# StringConstraints rather than Field(pattern=...): Litestar's generator publishes only these.
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
RunName = Annotated[str, StringConstraints(pattern=RUN_NAME_PATTERN)]
UserName = Annotated[str, StringConstraints(pattern=USER_NAME_PATTERN)]
ProjectName = Annotated[str, StringConstraints(pattern=PROJECT_NAME_PATTERN)]
LogToken = Annotated[str, StringConstraints(pattern=LOG_TOKEN_PATTERN)]
ReplicasLogToken = Annotated[str, StringConstraints(pattern=REPLICAS_LOG_TOKEN_PATTERN,
                                                    max_length=MAX_REPLICAS_LOG_TOKEN_LENGTH)]


def as_utc(value: datetime) -> datetime:
    """A request's time in UTC (naive times are UTC), refused before 1970."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value.year < 1970:
        raise ValueError(f"{value.isoformat()} is before 1970")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31 with a negative offset: later than any time stored
        return datetime.max.replace(tzinfo=UTC)


UtcTime = Annotated[datetime, _only(str, datetime, what="a date-time: RFC 3339 text such as 2026-01-31T12:00:00Z"),
                    AfterValidator(as_utc),
                    Field(description=TIME_DESCRIPTION, json_schema_extra={"pattern": TIME_PATTERN})]


def exactly_one_of(first: str, second: str) -> dict[str, Any]:
    """The JSON Schema of "exactly one of two keys", where a null counts as not given."""
    return {"oneOf": [{"required": [given], "properties": {given: {"type": "string"}, other: {"type": "null"}}}
                      for given, other in ((first, second), (second, first))]}


def both_or_neither(first: str, second: str) -> dict[str, Any]:
    """The JSON Schema of "both keys or neither", where a null counts as not given. (oneOf: the two
    cases exclude each other, and openapi-typescript makes oneOf, not anyOf, a union of cases.)"""
    return {"oneOf": [{"required": [first, second],
                       "properties": {first: {"type": "string"}, second: {"type": "string"}}},
                      {"properties": {first: {"type": "null"}, second: {"type": "null"}}}]}
