"""HTTP/1.1 connections to replicas, kept alive and reused: h11 for the protocol, asyncio streams
for the bytes, a list of idle connections per replica.

Not httpx: its connection pool looks at every pooled connection (a system call each) whenever a
request starts or ends, so with 64 requests in flight to one replica the proxy managed 32
requests/s; the benchmark is in docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field

import h11

CONNECT_TIMEOUT_SECONDS = 10.0
READ_BYTES = 65536
# Idle connections kept per replica, and for how long; replicas' own servers close theirs too.
MAX_IDLE_PER_REPLICA = 256
IDLE_SECONDS = 30.0
# A request that can't be sent again goes only on a connection idle for less than this: a server
# may close an idle connection just as a request arrives (gunicorn after 2 s, uvicorn after 5 s),
# and the request would be lost with it.
UNREPEATABLE_IDLE_SECONDS = 1.0
SWEEP_SECONDS = 10.0


# Called with the connection whenever the replica's answer has to be waited for.
Waiting = Callable[["Connection"], None]


class UpstreamError(Exception):
    """The replica broke the exchange. `fresh`: on a connection that had carried no request, so
    a refusal means the replica did not take the request at all."""


class ConnectFailed(UpstreamError):
    def __init__(self, cause: OSError | TimeoutError) -> None:
        refused = isinstance(cause, ConnectionRefusedError)
        reason = "connection refused" if refused else \
            f"timed out after {CONNECT_TIMEOUT_SECONDS:g} s" if isinstance(cause, TimeoutError) else str(cause)
        super().__init__(reason)


class StaleConnection(UpstreamError):
    """A kept-alive connection the replica had closed before it read the request."""


@dataclass(eq=False)
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    key: tuple[str, int]  # the replica's address and port
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    reused: bool = False
    idle_since: float = 0.0

    def usable(self, now: float, max_idle: float = IDLE_SECONDS) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing() or now - self.idle_since > max_idle)

    def close(self) -> None:
        self.writer.close()

    async def _receive(self, waiting: Waiting) -> h11.Event:
        """The next event; `waiting` is called before the network has to be waited for."""
        while (event := self.protocol.next_event()) is h11.NEED_DATA:
            waiting(self)
            self.protocol.receive_data(await self.reader.read(READ_BYTES))
        return event  # type: ignore[return-value]

    async def _write(self, event: h11.Event) -> None:
        if data := self.protocol.send(event):
            self.writer.write(data)
            await self.writer.drain()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    connection: Connection


class Upstreams:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[Connection]] = {}
        self._swept_at = time.monotonic()

    async def request(self, address: str, port: int, method: str, target: str, headers: list[tuple[bytes, bytes]],
                      body: AsyncIterator[bytes] | None, *, repeatable: bool, waiting: Waiting) -> Answer:
        """Sends the request (streaming `body`) and reads the answer's head. ConnectFailed when
        no connection could be made, StaleConnection when a kept-alive one turned out closed
        (the replica may not have taken the request), UpstreamError for anything else.
        `repeatable`: the request may be sent again (it may go on an older connection);
        `waiting`: called each time the answer has to be waited for."""
        connection = await self._connection(address, port, IDLE_SECONDS if repeatable else UNREPEATABLE_IDLE_SECONDS)
        host = [(b"host", f"{address}:{port}".encode())]
        try:
            await connection._write(h11.Request(method=method, target=target, headers=host + headers))
            if body is not None:
                async for chunk in body:
                    await connection._write(h11.Data(data=chunk))
            await connection._write(h11.EndOfMessage())
            while isinstance(event := await connection._receive(waiting), h11.InformationalResponse):
                pass  # 100 Continue and the like: the client's own server already answered those
        except (OSError, h11.ProtocolError) as error:
            connection.close()
            if connection.reused and isinstance(error, ConnectionError | h11.RemoteProtocolError):
                raise StaleConnection(str(error) or type(error).__name__) from error
            raise UpstreamError(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__) from error
        except BaseException:
            connection.close()
            raise
        if not isinstance(event, h11.Response):
            connection.close()
            raise UpstreamError("the replica closed the connection without an answer")
        return Answer(status=event.status_code, headers=list(event.headers.raw_items()), connection=connection)

    async def body(self, answer: Answer, waiting: Waiting) -> AsyncGenerator[bytes, None]:
        """The answer's body as it arrives; the connection goes back to the pool once it was read
        to its end, and is closed if it wasn't. `waiting` is called each time the rest of the
        body has to be waited for (a small answer usually came whole with its head)."""
        connection = answer.connection
        finished = False
        try:
            while True:
                event = await connection._receive(waiting)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    finished = isinstance(event, h11.EndOfMessage)
                    return
        except (OSError, h11.ProtocolError) as error:
            raise UpstreamError(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__) from error
        finally:
            self._release(connection, finished)

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connection(self, address: str, port: int, max_idle: float) -> Connection:
        idle = self._idle.get((address, port))
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to have been closed
            if connection.usable(now, max_idle):
                return connection
            connection.close()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise ConnectFailed(error) from error
        return Connection(reader, writer, (address, port))

    def _release(self, connection: Connection, finished: bool) -> None:
        protocol = connection.protocol
        if not finished or protocol.our_state is not h11.DONE or protocol.their_state is not h11.DONE:
            connection.close()
            return
        protocol.start_next_cycle()
        connection.reused, connection.idle_since = True, time.monotonic()
        idle = self._idle.setdefault(connection.key, [])
        if len(idle) >= MAX_IDLE_PER_REPLICA:
            connection.close()
        else:
            idle.append(connection)
        self._sweep(connection.idle_since)

    def _sweep(self, now: float) -> None:
        """Now and then, connections that replicas closed or that idled too long go, with the
        lists of replicas that are gone."""
        if now - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = now
        for key, connections in list(self._idle.items()):
            for connection in [c for c in connections if not c.usable(now)]:
                connection.close()
                connections.remove(connection)
            if not connections:
                del self._idle[key]
