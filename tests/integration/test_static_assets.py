"""The web UI's files over real HTTP (uvicorn, as `durastack server` serves them): the build's
brotli and gzip variants chosen by Accept-Encoding, and the caching headers browsers rely on."""

from __future__ import annotations

import gzip
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar

from api.static_ui import static_ui_router
from tests.support.durastack import REPO
from tests.support.ports import free_port

pytestmark = pytest.mark.integration

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def dist() -> Path:
    """`scripts/build-ui` builds ui/dist only when it is missing or older than its sources."""
    subprocess.run([str(REPO / "scripts" / "build-ui")], check=True, cwd=REPO)
    return REPO / "ui" / "dist"


@pytest.fixture(scope="module")
def url(dist: Path) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Litestar(route_handlers=[static_ui_router(dist)]), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # uvicorn offers no event to wait on
        assert thread.is_alive() and time.monotonic() < deadline, "the UI server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def assets(dist: Path) -> list[str]:
    """The script and stylesheet that index.html loads: the UI's two large files."""
    found = re.findall(r'(?:src|href)="/(assets/[^"]+\.(?:js|css))"', (dist / "index.html").read_text())
    assert {Path(path).suffix for path in found} == {".js", ".css"}, found
    return found


def raw_get(url: str, accept_encoding: str) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent, not decoded."""
    with httpx.Client(timeout=30) as http, http.stream("GET", url, headers={"Accept-Encoding": accept_encoding}) \
            as response:
        return response, b"".join(response.iter_raw())


def brotli_decompress(data: bytes, tmp_path: Path) -> bytes:
    """With Node's zlib (the build needs Node anyway; Python's standard library has no brotli)."""
    compressed = tmp_path / "body.br"
    compressed.write_bytes(data)
    script = "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(process.argv[1])))"
    return subprocess.run(["node", "-e", script, str(compressed)], check=True, capture_output=True).stdout


def test_large_assets_are_sent_compressed_by_accept_encoding(dist: Path, url: str, tmp_path: Path) -> None:
    for path in assets(dist):
        original = (dist / path).read_bytes()
        assert len(original) > 100_000, path

        response, body = raw_get(f"{url}/{path}", "gzip, deflate, br, zstd")  # Chromium's
        assert response.status_code == 200
        assert (response.headers["content-encoding"], response.headers["vary"]) == ("br", "Accept-Encoding")
        assert response.headers["cache-control"] == IMMUTABLE
        assert int(response.headers["content-length"]) == len(body) < len(original) / 3
        assert brotli_decompress(body, tmp_path) == original, path

        response, body = raw_get(f"{url}/{path}", "gzip")
        assert (response.headers["content-encoding"], response.headers["vary"]) == ("gzip", "Accept-Encoding")
        assert response.headers["cache-control"] == IMMUTABLE
        assert len(body) < len(original) / 2 and gzip.decompress(body) == original, path

        for refused in ("identity", "br;q=0, gzip;q=0", ""):
            response, body = raw_get(f"{url}/{path}", refused)
            assert "content-encoding" not in response.headers, refused
            assert (body, response.headers["vary"]) == (original, "Accept-Encoding"), refused
        expected_type = "text/css" if path.endswith(".css") else "javascript"
        assert expected_type in response.headers["content-type"]


def test_index_html_is_revalidated_every_time(dist: Path, url: str, tmp_path: Path) -> None:
    """Its name never changes, so a browser must ask each time whether it still holds."""
    index = (dist / "index.html").read_bytes()
    for path in ("/", "/runs", "/projects/main/runs/hello"):
        response, body = raw_get(f"{url}{path}", "gzip, br")
        assert (response.status_code, response.headers["cache-control"]) == (200, "no-cache"), path
        assert response.headers["content-type"].startswith("text/html")
        coding = response.headers.get("content-encoding")
        decoded = {None: lambda data: data, "gzip": gzip.decompress,
                   "br": lambda data: brotli_decompress(data, tmp_path)}[coding](body)
        assert decoded == index, path
