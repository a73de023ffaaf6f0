"""A service replica for the proxy's tests and benchmark: HTTP/1.1 with keep-alive, Server-Sent
Events, a WebSocket echo, a health check the test can turn off, and a graceful stop. Standard
library only: jobs may run as Unix users of their own with the system's python3
(tests/support/replicas.py passes it inline).

    GET  /health                      200 while healthy, else 503 (the service's probe)
    GET  /sse?key=K                   `data: first from replica N`, then waits for /control/release?key=K,
                                      then `data: last`, and ends
    GET  /ticks?key=K                 `data: tick N from replica R` every 0.1 s for as long as someone reads
                                      (then K is among /control/state's ended_streams)
    GET  /slow?seconds=S              answers after S seconds
    GET  /ws                          WebSocket: `hello from replica N`, then echoes; "close-me" makes it
                                      close with 4001 "bye"
    POST /control/health?ok=0|1       turn the health check on or off
    POST /control/release?key=K       let an event stream end
    POST /control/stop-listening      close the listening socket and idle connections (the process stays);
                                      ?after_probe=1 waits for the next /health first
    GET  /control/state               healthy, requests in progress, the close code of the last WebSocket
                                      the client closed, the endless streams that lost their reader
    anything else                     JSON of what came in: replica, method, path, headers, body;
                                      `?status=N` answers N

Arguments: `--unhealthy 0,1` starts those replica numbers with a failing health check. SIGTERM
stops listening, lets the requests in progress finish, then exits.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPLICA = int(os.environ.get("DURASTACK_REPLICA_NUM", "0"))
SUBMISSION = int(os.environ.get("DURASTACK_SUBMISSION_NUM", "0"))
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class State:
    def __init__(self, healthy: bool) -> None:
        self.lock = threading.Lock()
        self.healthy = healthy
        self.releases: dict[str, threading.Event] = {}
        self.in_flight = 0
        self.connections: set[socket.socket] = set()
        self.busy: set[socket.socket] = set()  # connections with a request in progress
        self.last_close: int | None = None
        self.ended_streams: list[str] = []
        self.probed = threading.Condition(self.lock)
        self.probes = 0

    def release(self, key: str) -> threading.Event:
        with self.lock:
            return self.releases.setdefault(key, threading.Event())


STATE = State(healthy=True)
SERVER: ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection ends after this
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for an ACK between

    def setup(self) -> None:
        super().setup()
        with STATE.lock:
            STATE.connections.add(self.connection)

    def finish(self) -> None:
        with STATE.lock:
            STATE.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the job's log is the test's

    def do_GET(self) -> None:
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def handle_any(self) -> None:
        with STATE.lock:
            STATE.in_flight += 1
            STATE.busy.add(self.connection)
        try:
            self.route()
        finally:
            with STATE.lock:
                STATE.in_flight -= 1
                STATE.busy.discard(self.connection)

    def route(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        body = self.read_body()
        if url.path == "/health":
            with STATE.probed:
                healthy = STATE.healthy
            self.answer(200 if healthy else 503, b"ok" if healthy else b"unhealthy")
            with STATE.probed:
                STATE.probes += 1
                STATE.probed.notify_all()
        elif url.path == "/sse":
            self.event_stream(query["key"])
        elif url.path == "/ticks":
            self.ticks(query["key"])
        elif url.path == "/slow":
            time.sleep(float(query.get("seconds", "1")))
            self.answer_json(200, {"replica": REPLICA, "slept": float(query.get("seconds", "1"))})
        elif url.path == "/ws" and self.headers.get("upgrade", "").lower() == "websocket":
            self.websocket()
        elif url.path == "/control/health":
            with STATE.lock:
                STATE.healthy = query.get("ok") == "1"
            self.answer_json(200, {"replica": REPLICA, "healthy": STATE.healthy})
        elif url.path == "/control/release":
            STATE.release(query["key"]).set()
            self.answer_json(200, {"replica": REPLICA})
        elif url.path == "/control/stop-listening":
            if query.get("after_probe") == "1":
                with STATE.probed:
                    seen = STATE.probes
                    STATE.probed.wait_for(lambda: STATE.probes > seen, timeout=120)
            stop_listening()
            self.close_connection = True
            self.answer_json(200, {"replica": REPLICA, "listening": False})
        elif url.path == "/control/state":
            with STATE.lock:  # this request is one of those in progress
                state = {"healthy": STATE.healthy, "in_flight": STATE.in_flight - 1, "last_close": STATE.last_close,
                         "ended_streams": STATE.ended_streams}
            self.answer_json(200, {"replica": REPLICA, **state})
        else:
            self.answer_json(int(query.get("status", "200")), {
                "replica": REPLICA, "submission": SUBMISSION, "method": self.command, "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body.decode(errors="replace")})

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts = []
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer_json(self, status: int, data: dict[str, Any]) -> None:
        self.answer(status, json.dumps(data).encode(), "application/json")

    def event_stream(self, key: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunk(f"data: first from replica {REPLICA}\n\n".encode())
        released = STATE.release(key).wait(timeout=120)
        self.chunk(f"data: last ({'released' if released else 'timed out'})\n\n".encode())
        self.chunk(b"")

    def ticks(self, key: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        tick = 0
        try:
            while True:
                self.chunk(f"data: tick {tick} from replica {REPLICA}\n\n".encode())
                tick += 1
                time.sleep(0.1)
        except OSError:  # the reader went away
            with STATE.lock:
                STATE.ended_streams.append(key)

    def chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    # -- WebSocket (RFC 6455, unfragmented messages) ------------------------------------------

    def websocket(self) -> None:
        accept = base64.b64encode(hashlib.sha1((self.headers["sec-websocket-key"] + WEBSOCKET_GUID).encode())
                                  .digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        if protocols := self.headers.get("sec-websocket-protocol"):
            self.send_header("Sec-WebSocket-Protocol", protocols.split(",")[0].strip())
        self.end_headers()
        self.connection.settimeout(None)
        self.close_connection = True
        self.send_frame(0x1, f"hello from replica {REPLICA}".encode())
        while True:
            opcode, payload = self.read_frame()
            if opcode == 0x8:  # close: answer with the same code
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                with STATE.lock:
                    STATE.last_close = code
                self.send_frame(0x8, payload[:2])
                return
            if opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x1 and payload == b"close-me":
                self.send_frame(0x8, struct.pack("!H", 4001) + b"bye")
                self.read_frame()  # the client's answer
                return
            elif opcode in (0x1, 0x2):
                self.send_frame(opcode, payload)

    def read_frame(self) -> tuple[int, bytes]:
        head = self.rfile.read(2)
        if len(head) < 2:
            return 0x8, b""
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self.rfile.read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self.rfile.read(8))[0]
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        payload = self.rfile.read(length)
        return opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))

    def send_frame(self, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            head = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        self.wfile.write(head + payload)
        self.wfile.flush()


def stop_listening() -> None:
    """No new connections, and idle ones closed (a proxy's pooled connection must not outlive
    the listener); requests in progress carry on."""
    SERVER.shutdown()
    SERVER.socket.close()
    with STATE.lock:
        idle = [connection for connection in STATE.connections if connection not in STATE.busy]
    for connection in idle:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def main() -> None:
    global SERVER
    unhealthy = sys.argv[sys.argv.index("--unhealthy") + 1].split(",") if "--unhealthy" in sys.argv else []
    STATE.healthy = str(REPLICA) not in unhealthy
    ThreadingHTTPServer.request_queue_size = 128  # the listen backlog: 5 drops connections under load
    SERVER = ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler)
    SERVER.daemon_threads = True
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    threading.Thread(target=SERVER.serve_forever, daemon=True).start()
    print(f"replica {REPLICA} listening on {os.environ['PORT']}", flush=True)
    stopping.wait()
    with contextlib.suppress(OSError):  # it may have stopped listening already
        stop_listening()
    while STATE.in_flight:
        time.sleep(0.05)
    print(f"replica {REPLICA} stopped", flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
