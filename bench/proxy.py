"""The proxy's overhead: a service's replica called directly, and through the API's proxy.

    .venv/bin/python -m bench.proxy [--seconds 5] [--concurrency 1,16,64] [--no-auth] [--log-dir /tmp]

A fresh embedded stack (SQLite, Temporal dev server, API and workers in one process) runs the
service `echo`: one replica of tests/support/replica_app.py (Python's threaded http.server,
HTTP/1.1 keep-alive), `auth: true` unless --no-auth. For each number of concurrent clients, the
same small GET (`/echo`, a JSON answer of about 300 bytes) is sent for --seconds after a second of
warm-up, first straight to the replica's port, then to `/proxy/services/main/echo/echo` with the
admin's token. Each client is one keep-alive connection sending its next request when the last
was answered (a minimal HTTP/1.1 client on asyncio streams, so that the load generator takes as
little of the machine's CPU as it can: it shares the machine with the server and the replica).
Prints one table: p50, p99 and requests/s of both, and proxied / direct.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bench.common import client, load, percentile, post, problem_rows
from bench.stack import EmbeddedStack
from tests.support.replicas import replica_command

SERVICE: dict[str, Any] = {"type": "service", "name": "echo", "port": 8000, "commands": [replica_command()],
                           "resources": {"cpu": 0.5, "memory": "128MB"}, "stop_duration": "1s"}
WAIT_SECONDS = 60.0


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer (Content-Length)."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure(host: str, port: int, path: str, headers: dict[str, str], concurrency: int,
                  seconds: float) -> tuple[list[float], float]:
    """Latencies (s) of the requests answered within `seconds` after a second of warm-up, and
    requests/s."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    warm_until = time.perf_counter() + 1.0
    stop_at = warm_until + seconds

    async def one_client() -> None:
        connection = Connection(host, port, request)
        try:
            while (started := time.perf_counter()) < stop_at:
                status, body = await connection.send()
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}: {body.decode(errors='replace')}")
                if started >= warm_until:
                    latencies.append(time.perf_counter() - started)
        finally:
            connection.close()

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return latencies, len(latencies) / seconds


async def wait_ready(http: Any) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        [run] = await post(http, "runs/list", {"run_name": "echo", "only_active": True})
        if run["service"]["ready_replicas"] == 1:
            submission: dict[str, Any] = run["jobs"][0]["job_submissions"][-1]
            return submission
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the replica was not ready within {WAIT_SECONDS:.0f} s")


def print_rows(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for row in [header, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per cell")
    parser.add_argument("--concurrency", default="1,16,64", help="numbers of concurrent clients")
    parser.add_argument("--no-auth", action="store_true", help="the service with `auth: false`")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"), help="where the server log is kept")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    service = {**SERVICE, "auth": not args.no_auth}

    with EmbeddedStack(cpus=4, memory="4GB", keep_log=args.log_dir / "durastack-bench-proxy.log") as stack:
        async with client(stack) as http:
            await post(http, "runs/apply", {"run_spec": {"configuration": service}})
            replica = await wait_ready(http)
            load_before = load()
            rows = []
            for concurrency in levels:
                direct, direct_rps = await measure(replica["address"], replica["port"], "/echo", {}, concurrency,
                                                   args.seconds)
                proxied, proxied_rps = await measure(
                    "127.0.0.1", stack.port, "/proxy/services/main/echo/echo",
                    {} if args.no_auth else {"Authorization": f"Bearer {stack.token}"}, concurrency, args.seconds)
                rows.append([str(concurrency), *(cell for pair in (
                    (percentile(direct, 0.5) * 1000, percentile(proxied, 0.5) * 1000),
                    (percentile(direct, 0.99) * 1000, percentile(proxied, 0.99) * 1000),
                ) for cell in (f"{pair[0]:.2f}", f"{pair[1]:.2f}", f"{pair[1] / pair[0]:.1f}x")),
                             f"{direct_rps:.0f}", f"{proxied_rps:.0f}", f"{proxied_rps / direct_rps:.2f}x"])
            problems = stack.log_problems()
            await post(http, "runs/stop", {"runs_names": ["echo"], "abort": True})

    print_rows(f"Proxy overhead, GET of ~300 bytes, auth {'off' if args.no_auth else 'on'} "
               f"(load average before: {load_before}; at the end: {load()})",
               ["clients", "p50 direct ms", "p50 proxied ms", "ratio", "p99 direct ms", "p99 proxied ms", "ratio",
                "direct req/s", "proxied req/s", "ratio"], rows)
    for name, count, target in problem_rows(problems):
        print(f"{name}: {count}" + (f" (target {target})" if target else ""))


if __name__ == "__main__":
    asyncio.run(main())
