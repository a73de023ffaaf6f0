"""HTTP/1.1 to a replica: the request body streamed as it arrives, the answer streamed back chunk
by chunk as the replica sends it (Server-Sent Events and token streams pass unbuffered)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from litestar.types import HTTPScope, Receive, Send

from api.proxy.errors import ProxyError
from api.proxy.headers import RawHeaders, response_headers
from api.proxy.routes import ServiceRoute, Upstream
from api.proxy.upstream import Answer, ConnectFailed, Connection, StaleConnection, UpstreamError, Upstreams

# A request the replica can't have seen (its connection was refused, or a kept-alive connection
# had been closed), and that may be sent twice anyway, goes to the next replica.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Kept-alive connections found closed in a row before the request is given up.
MAX_STALE = 3


class ClientDisconnected(Exception):
    """The client left while its request body was being read."""


class RequestBody:
    """The client's body as the replica reads it; `started` once the first part was asked for
    (until then the request can still go elsewhere)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.started = False

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        more = True
        while more:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            more = bool(message.get("more_body", False))
            if body := cast(bytes, message.get("body", b"")):
                yield body


def has_body(headers: RawHeaders) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class HttpForwarder:
    def __init__(self) -> None:
        self._upstreams = Upstreams()

    async def aclose(self) -> None:
        self._upstreams.close()

    async def forward(self, scope: HTTPScope, receive: Receive, send: Send, route: ServiceRoute,
                      upstreams: Sequence[Upstream], target: str, headers: list[tuple[bytes, bytes]],
                      log: Any) -> None:
        """To the first of `upstreams`, and on to the next while a connection is refused and the
        request may be repeated. Once the request is sent, a client that leaves closes the
        replica's connection: a model's long answer, or an endless stream, ends with its reader."""
        watch = ClientWatch(receive)
        try:
            answer, upstream = await self._send(scope, receive, route, upstreams, target, headers, log, watch)
            await self._relay(answer, send, log, upstream, watch)
        except ProxyError:
            if not watch.client_left:
                raise
        except ClientDisconnected:
            pass
        finally:
            watch.stop()

    async def _send(self, scope: HTTPScope, receive: Receive, route: ServiceRoute, upstreams: Sequence[Upstream],
                    target: str, headers: list[tuple[bytes, bytes]], log: Any,
                    watch: ClientWatch) -> tuple[Answer, Upstream]:
        """The head of a replica's answer, and which replica it is."""
        method = scope["method"]
        body = RequestBody(receive) if has_body(scope["headers"]) else None
        if body is not None and not any(name == b"content-length" for name, _ in headers):
            headers = [*headers, (b"transfer-encoding", b"chunked")]  # the client's was for its own hop
        attempts, stale, refused = list(upstreams), 0, []
        while attempts:
            upstream = attempts[0]
            repeatable = method in IDEMPOTENT_METHODS and (body is None or not body.started)
            try:
                answer = await self._upstreams.request(upstream.address, upstream.port, method, target, headers,
                                                       body.chunks() if body else None, repeatable=repeatable,
                                                       waiting=watch.watch)
                return answer, upstream
            except UpstreamError as error:
                if watch.client_left:  # the watch closed the connection: nobody waits for an answer
                    raise ClientDisconnected from None
                failure = error
            if isinstance(failure, StaleConnection):
                stale += 1
                if repeatable and stale <= MAX_STALE:
                    continue  # the same replica, on another connection
                raise ProxyError(502, f"service {route.run_name}: replica {upstream.replica_num} closed the "
                                      f"connection: {failure}")
            if isinstance(failure, ConnectFailed):
                refused.append(f"replica {upstream.replica_num}: {failure}")
                attempts.pop(0)
                if repeatable and attempts:
                    log.info("replica refused the connection; trying the next", replica_num=upstream.replica_num,
                             error=str(failure))
                    continue
                raise ProxyError(502, f"service {route.run_name}: {'; '.join(refused)}")
            log.warning("replica failed the request", replica_num=upstream.replica_num, error=str(failure))
            raise ProxyError(502, f"service {route.run_name}: replica {upstream.replica_num} failed the request: "
                                  f"{failure}")
        raise ProxyError(502, f"service {route.run_name}: no replica to send the request to")

    async def _relay(self, answer: Answer, send: Send, log: Any, upstream: Upstream, watch: ClientWatch) -> None:
        """The answer to the client as it arrives."""
        body = self._upstreams.body(answer, watch.watch)
        try:
            await send({"type": "http.response.start", "status": answer.status,
                        "headers": response_headers(answer.headers)})
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            watch.stop()  # before it hears the server's "disconnect" that follows a complete answer
        except UpstreamError as error:
            # The head is gone already: leaving the answer incomplete makes the server close the
            # connection, so the client sees a broken response rather than a short one.
            if not watch.client_left:
                log.warning("replica broke off its answer", replica_num=upstream.replica_num, error=str(error))
        finally:
            await body.aclose()


class ClientWatch:
    """Closes the replica's connection when the client goes away. Started only once an answer
    has to be waited for (the request body has been read by then): a small answer usually comes
    whole right after the request, and a task per request was a tenth of the proxy's CPU."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._task: asyncio.Task[None] | None = None
        self._connection: Connection | None = None
        self.client_left = False

    def watch(self, connection: Connection) -> None:
        self._connection = connection
        if self._task is None:
            self._task = asyncio.create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._connection = None

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.client_left = True
        if self._connection is not None:
            self._connection.close()
