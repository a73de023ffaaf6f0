"""The web UI: the files Vite builds into `ui/dist`, served at `/`.

Any other path that is not the API's (`/api/...`, `/schema...`) answers `index.html`, so that the
UI's own addresses (`/runs`, `/projects/main/runs/hello`) open directly and survive a reload.
Without a build, those paths answer a short page that says how to make one.

Files are sent brotli- or gzip-compressed when the browser accepts it, from the FILE.br and
FILE.gz that the build writes beside them (ui/precompress.ts); hashed assets under `assets/` may be
cached forever, everything else (index.html above all) is revalidated on every use.

The build is found next to the source tree (`ui/dist` of a checkout); an installed package (the
Docker image) has no source tree, so `DURASTACK_UI_DIR` names the directory instead."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File

from api.content_encoding import precompressed_variants, preferred_coding

UI_DIST = Path(__file__).resolve().parents[1] / "ui" / "dist"
UI_DIR_VARIABLE = "DURASTACK_UI_DIR"
API_PREFIXES = ("api", "schema", "proxy")
# Vite names assets by their content's hash, so they never change under one name.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>durastack</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>The durastack web UI is not built</h1>
<p>Build it once with <code>scripts/build-ui</code> (it runs <code>npm ci</code> and <code>npm run build</code>
in <code>ui/</code>; <code>scripts/up</code> does this too), then reload this page. An installed server finds
the build in <code>DURASTACK_UI_DIR</code>.</p>
<p>The API works without it: <a href="/schema/swagger">/schema/swagger</a>.</p>
</body></html>
"""


def ui_dist() -> Path:
    """`DURASTACK_UI_DIR` when set, else the checkout's `ui/dist`."""
    configured = os.environ.get(UI_DIR_VARIABLE, "").strip()
    return Path(configured).expanduser() if configured else UI_DIST


def static_ui_router(dist: Path | None = None) -> Router:
    """GET `/` and every non-API path: a built file, else the UI's `index.html`."""
    root = (dist or ui_dist()).resolve()

    def answer(relative: str, accept_encoding: str | None) -> Response[str] | File:
        if relative.split("/", 1)[0] in API_PREFIXES:
            raise NotFoundException(f"no such endpoint: /{relative}")
        index = root / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT, media_type="text/html", headers={"Cache-Control": "no-store"})
        asset = (root / relative).resolve()
        if relative and asset.is_file() and asset.is_relative_to(root):
            cache = IMMUTABLE if relative.startswith("assets/") else REVALIDATE
            return file_response(asset, cache, accept_encoding)
        return file_response(index, REVALIDATE, accept_encoding)

    @get("/", include_in_schema=False, sync_to_thread=False)
    def serve_index(request: Request[Any, Any, Any]) -> Response[str] | File:
        return answer("", request.headers.get("accept-encoding"))

    @get("/{path:path}", include_in_schema=False, sync_to_thread=False)
    def serve_path(path: FromPath[str], request: Request[Any, Any, Any]) -> Response[str] | File:
        return answer(path.lstrip("/"), request.headers.get("accept-encoding"))

    return Router(path="/", route_handlers=[serve_index, serve_path])


def file_response(path: Path, cache_control: str, accept_encoding: str | None) -> File:
    """The file, or its precompressed variant that the request accepts, as the file's own type."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": cache_control}
    variants = precompressed_variants(path)
    body = path
    if variants:
        headers["Vary"] = "Accept-Encoding"  # caches must keep one copy per coding
        coding = preferred_coding(accept_encoding, list(variants))
        if coding is not None:
            body, headers["Content-Encoding"] = variants[coding], coding
    return File(body, filename=path.name, content_disposition_type="inline", media_type=media_type, headers=headers)
