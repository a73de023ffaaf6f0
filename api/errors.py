"""API errors: every refusal is a 4xx whose `detail` is one readable line naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, Field

from core.configuration import ConfigurationError

log = structlog.get_logger(__name__)


class ErrorBody(BaseModel):
    """What every refusal answers (and the rare 5xx)."""

    status_code: int
    detail: str = Field(description="one readable line; it starts with the field's name when one field is at fault")
    field: str | None = Field(default=None, description="the dotted path of the field at fault, when there is one "
                                                        "(run_spec.configuration.resources.memory)")


_ERROR_MEANINGS = {
    400: "Bad input: a field is malformed, out of range or unknown; `field` names it",
    401: "No token, or a token that is invalid or revoked",
    403: "Forbidden: the caller's role does not allow this",
    404: "Not found: the project (or one the caller is not a member of), run, user or token named",
    409: "Conflict with the current state: a name that is taken, an active run, the last global admin",
    429: "Rate limit of the caller's token (or address, without a token) exceeded; `Retry-After` says when to "
         "try again",
    503: "The Temporal server did not accept the run's workflow; nothing was started",
}


def error_responses(*statuses: int) -> Mapping[int, ResponseSpec]:
    """The OpenAPI responses of an authenticated API route that may also answer `statuses`."""
    # No generated examples: they are random, and the document is committed (ui/src/api/openapi.json).
    return {status: ResponseSpec(data_container=ErrorBody, description=_ERROR_MEANINGS[status],
                                 generate_examples=False)
            for status in sorted({400, 401, 429, *statuses})}


# One mapping per kind of route, for the handlers' `responses`.
CALLER_ERRORS = error_responses()  # any caller with a token
NOT_FOUND_ERRORS = error_responses(404)  # a project, run, user or token named in the path or body


class ApiError(HTTPException):
    """An HTTPException whose detail is the message itself."""

    def __init__(self, status_code: int, detail: str, field: str | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail, extra={"field": field} if field else None)


class Forbidden(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


class NotFound(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


class Conflict(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, detail)


def _body(status: int, detail: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if field:
        body["field"] = field
    return body


def configuration_error_handler(_: Request[Any, Any, Any], error: ConfigurationError) -> Response[Any]:
    field = ".".join(filter(None, ["run_spec.configuration", error.field]))
    return Response(_body(400, f"{field}: {error.message}", field), status_code=400)


def validation_error_handler(_: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    extra = error.extra if isinstance(error.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    field = str(first.get("key") or "") or None
    message = str(first.get("message") or error.detail).removeprefix("Value error, ")
    detail = f"{field}: {message}" if field else message
    return Response(_body(400, detail, field), status_code=400)


def rate_limit_handler(request: Request[Any, Any, Any], error: TooManyRequestsException) -> Response[Any]:
    """Litestar's limiter says which limit in its RateLimit-Policy header ("100; w=1") and how long
    until its window ends in RateLimit-Reset; clients and proxies look for Retry-After."""
    headers = dict(error.headers or {})
    limit, _, window = headers.get("RateLimit-Policy", "").partition("; w=")
    retry_after = str(max(1, int(headers.get("RateLimit-Reset", "1"))))
    detail = (f"rate limit exceeded: {limit} requests per {window} s per token (or address, without a token); "
              f"retry after {retry_after} s")
    return Response(_body(429, detail), status_code=429, headers={**headers, "Retry-After": retry_after})


def http_error_handler(_: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    field = error.extra.get("field") if isinstance(error.extra, dict) else None
    return Response(_body(error.status_code, str(error.detail), field), status_code=error.status_code,
                    headers=error.headers)


def internal_error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path)
    return Response(_body(500, "internal server error; see the server log"), status_code=500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ConfigurationError: configuration_error_handler,
    ValidationException: validation_error_handler,
    TooManyRequestsException: rate_limit_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
