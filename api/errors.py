"""API errors: every refusal is a 4xx whose `detail` is one readable line naming the field."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from core.configuration import ConfigurationError

log = structlog.get_logger(__name__)


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
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
