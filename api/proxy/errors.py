"""The proxy's own answers: a status and one readable line, as JSON like the rest of the API."""

from __future__ import annotations

import json
from typing import Any, cast

from litestar.types import Send


class ProxyError(Exception):
    def __init__(self, status_code: int, detail: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def again(self) -> ProxyError:
        """The same refusal as a new exception: raising a kept one again would lengthen its
        traceback with every request."""
        return ProxyError(self.status_code, self.detail, self.headers)

    def body(self) -> bytes:
        return json.dumps({"status_code": self.status_code, "detail": self.detail}).encode()


async def send_http_error(send: Send, error: ProxyError, *, prefix: str = "http") -> None:
    """The error as an HTTP response; `prefix` "websocket.http" answers a WebSocket handshake."""
    body = error.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *error.headers]
    await send(cast(Any, {"type": f"{prefix}.response.start", "status": error.status_code, "headers": headers}))
    await send(cast(Any, {"type": f"{prefix}.response.body", "body": body, "more_body": False}))
