"""WebSockets to a replica: the proxy accepts the client once the replica has accepted it, then
relays messages both ways until one side closes, and passes the close code on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any, cast

from litestar.types import Receive, Send, WebSocketScope
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from api.proxy.errors import ProxyError
from api.proxy.headers import response_headers
from api.proxy.routes import ServiceRoute, Upstream
from api.proxy.upstream import CONNECT_TIMEOUT_SECONDS

# uvicorn's own default bound on a message from the client.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
NORMAL, GOING_AWAY, INTERNAL_ERROR = 1000, 1001, 1011


def relayable_close_code(code: int | None) -> int:
    """A close code as the other side may be sent it: 1005 (none given) and 1006 (the connection
    dropped) exist only on the receiving side, and so does anything outside the ranges."""
    if code is None or code == 1005:
        return NORMAL
    if code == 1006:
        return GOING_AWAY
    if 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999:
        return code
    return INTERNAL_ERROR


class ReplicaRefusedUpgrade(Exception):
    """The replica answered the handshake with an HTTP response: the client gets it."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


async def open_upstream(route: ServiceRoute, upstreams: Sequence[Upstream], target: str,
                        headers: list[tuple[bytes, bytes]], subprotocols: Sequence[str],
                        log: Any) -> ClientConnection:
    """The first replica that takes the connection (a handshake may always go elsewhere)."""
    refused: list[str] = []
    for upstream in upstreams:
        try:
            return await connect(
                f"ws://{upstream.address}:{upstream.port}{target}", proxy=None, compression=None,
                additional_headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers],
                subprotocols=[Subprotocol(protocol) for protocol in subprotocols] or None, user_agent_header=None,
                open_timeout=CONNECT_TIMEOUT_SECONDS, max_size=MAX_MESSAGE_BYTES)
        except InvalidStatus as refusal:
            response = refusal.response
            raise ReplicaRefusedUpgrade(response.status_code, response_headers(
                [(name.lower().encode("latin-1"), value.encode("latin-1"))
                 for name, value in response.headers.raw_items()]), bytes(response.body or b"")) from None
        except OSError as error:
            refused.append(f"replica {upstream.replica_num}: {error.strerror or error}")
            log.info("replica refused the connection; trying the next", replica_num=upstream.replica_num,
                     error=refused[-1])
        except (InvalidHandshake, TimeoutError) as error:
            raise ProxyError(502, f"service {route.run_name}: replica {upstream.replica_num} failed the WebSocket "
                                  f"handshake: {type(error).__name__}: {error}") from None
    raise ProxyError(502, f"service {route.run_name}: no replica took the connection ({'; '.join(refused)})")


async def relay(replica: ClientConnection, scope: WebSocketScope, receive: Receive, send: Send) -> None:
    """Accepts the client with the replica's subprotocol, then relays until a side closes."""
    await send({"type": "websocket.accept", "subprotocol": replica.subprotocol, "headers": []})
    to_replica = asyncio.create_task(_client_to_replica(replica, receive))
    to_client = asyncio.create_task(_replica_to_client(replica, send))
    try:
        await asyncio.wait((to_replica, to_client), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (to_replica, to_client):
            task.cancel()
        await asyncio.gather(to_replica, to_client, return_exceptions=True)
        await replica.close()


async def _client_to_replica(replica: ClientConnection, receive: Receive) -> None:
    while True:
        message = cast(dict[str, Any], await receive())
        if message["type"] == "websocket.receive":
            text = message.get("text")
            # A replica that closed: the other direction closes the client with its code.
            with contextlib.suppress(ConnectionClosed):
                await replica.send(text if text is not None else message.get("bytes") or b"")
        elif message["type"] == "websocket.disconnect":
            await replica.close(relayable_close_code(message.get("code")), message.get("reason") or "")
            return


async def _replica_to_client(replica: ClientConnection, send: Send) -> None:
    try:
        async for data in replica:
            text, binary = (data, None) if isinstance(data, str) else (None, bytes(data))
            await send({"type": "websocket.send", "text": text, "bytes": binary})
    except ConnectionClosed:
        pass
    await send({"type": "websocket.close", "code": relayable_close_code(replica.close_code),
                "reason": replica.close_reason or ""})
