"""The web UI's files at `/`, the SPA's fallback, and the API's paths left alone."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from litestar import Litestar, post
from litestar.openapi import OpenAPIConfig
from litestar.params import FromPath
from litestar.testing import TestClient

from api.static_ui import UI_DIR_VARIABLE, UI_DIST, static_ui_router, ui_dist


@post("/api/project/{project_name:str}/runs/list", status_code=200)
async def list_runs(project_name: FromPath[str]) -> list[str]:
    return [project_name]


def client(dist: Path) -> TestClient[Litestar]:
    app = Litestar(route_handlers=[list_runs, static_ui_router(dist)],
                   openapi_config=OpenAPIConfig(title="t", version="1", path="/schema"))
    return TestClient(app)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>the ui</html>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


def test_serves_index_and_assets(dist: Path) -> None:
    with client(dist) as http:
        index = http.get("/")
        assert (index.status_code, index.text) == (200, "<html>the ui</html>")
        assert index.headers["content-type"].startswith("text/html")
        asset = http.get("/assets/index-abc.js")
        assert (asset.status_code, asset.text) == (200, "console.log(1)")
        assert "javascript" in asset.headers["content-type"]
        assert "immutable" in asset.headers["cache-control"]
        assert http.get("/favicon.svg").headers["content-type"].startswith("image/svg")


def test_ui_addresses_fall_back_to_index(dist: Path) -> None:
    with client(dist) as http:
        for path in ("/runs", "/projects/main/runs/hello?id=abc", "/projects/main/runs/a.b", "/assets/missing.js"):
            response = http.get(path)
            assert (response.status_code, response.text) == (200, "<html>the ui</html>"), path


def test_leaves_the_api_and_schema_alone(dist: Path) -> None:
    with client(dist) as http:
        assert http.post("/api/project/main/runs/list").json() == ["main"]
        assert http.get("/schema/openapi.json").json()["info"]["title"] == "t"
        for path in ("/api", "/api/nothing/here"):
            unknown = http.get(path)
            assert (unknown.status_code, unknown.headers["content-type"]) == (404, "application/json"), path
        assert http.get("/schema/nothing").status_code == 404
        assert http.post("/api/nothing").status_code == 404
        assert http.get("/schema-not").status_code == 200  # only whole segments are the API's


def test_never_serves_files_outside_the_build(dist: Path) -> None:
    (dist.parent / "secret.txt").write_text("secret")
    with client(dist) as http:
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
            response = http.get(path)
            assert "secret" not in response.text, path


def test_without_a_build_says_how_to_make_one(tmp_path: Path) -> None:
    with client(tmp_path / "missing") as http:
        for path in ("/", "/runs"):
            response = http.get(path)
            assert response.status_code == 200
            assert "scripts/build-ui" in response.text


def test_the_build_is_found_in_durastack_ui_dir(dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package (the Docker image) has no checkout around it."""
    monkeypatch.delenv(UI_DIR_VARIABLE, raising=False)
    assert ui_dist() == UI_DIST
    monkeypatch.setenv(UI_DIR_VARIABLE, str(dist))
    assert ui_dist() == dist
    app = Litestar(route_handlers=[static_ui_router()])
    with TestClient(app) as http:
        assert http.get("/runs").text == "<html>the ui</html>"


def test_precompressed_files_by_accept_encoding(dist: Path) -> None:
    """The bodies here are the variants' bytes; tests/integration/test_static_assets.py checks a
    real build's over real HTTP."""
    (dist / "assets" / "index-abc.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    (dist / "assets" / "index-abc.js.br").write_bytes(b"brotli script")  # httpx passes br through undecoded
    (dist / "index.html.gz").write_bytes(gzip.compress(b"<html>the ui</html>"))
    with client(dist) as http:
        for accept, coding, body in [("gzip, br", "br", b"brotli script"), ("gzip", "gzip", b"console.log(1)")]:
            response = http.get("/assets/index-abc.js", headers={"Accept-Encoding": accept})
            assert (response.headers["content-encoding"], response.content) == (coding, body)
            assert response.headers["vary"] == "Accept-Encoding"
            assert "javascript" in response.headers["content-type"]
            assert "immutable" in response.headers["cache-control"]
        plain = http.get("/assets/index-abc.js", headers={"Accept-Encoding": "identity"})
        assert (plain.text, plain.headers["vary"]) == ("console.log(1)", "Accept-Encoding")
        assert "content-encoding" not in plain.headers
        for path in ("/", "/runs"):
            index = http.get(path, headers={"Accept-Encoding": "gzip"})
            assert (index.headers["content-encoding"], index.headers["cache-control"]) == ("gzip", "no-cache"), path
            assert index.text == "<html>the ui</html>"
            assert index.headers["content-type"].startswith("text/html")
        # A file without variants varies by nothing.
        assert "vary" not in http.get("/favicon.svg", headers={"Accept-Encoding": "gzip"}).headers
