"""The web UI: the files Vite builds into `ui/dist`, served at `/`.

Any other path that is not the API's (`/api/...`, `/schema...`) answers `index.html`, so that the
UI's own addresses (`/runs`, `/projects/main/runs/hello`) open directly and survive a reload.
Without a build, those paths answer a short page that says how to make one.

The build is found next to the source tree (`ui/dist` of a checkout); an installed package (the
Docker image) has no source tree, so `DURASTACK_UI_DIR` names the directory instead."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from litestar import Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File

UI_DIST = Path(__file__).resolve().parents[1] / "ui" / "dist"
UI_DIR_VARIABLE = "DURASTACK_UI_DIR"
API_PREFIXES = ("api", "schema", "proxy")

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

    def answer(relative: str) -> Response[str] | File:
        if relative.split("/", 1)[0] in API_PREFIXES:
            raise NotFoundException(f"no such endpoint: /{relative}")
        index = root / "index.html"
        if not index.is_file():
            return Response(NOT_BUILT, media_type="text/html", headers={"Cache-Control": "no-store"})
        asset = (root / relative).resolve()
        if relative and asset.is_file() and asset.is_relative_to(root):
            # Vite names assets by their content's hash, so they never change under one name.
            cache = "public, max-age=31536000, immutable" if relative.startswith("assets/") else "no-cache"
            return File(asset, filename=asset.name, content_disposition_type="inline",
                        media_type=mimetypes.guess_type(asset.name)[0] or "application/octet-stream",
                        headers={"Cache-Control": cache})
        return File(index, filename="index.html", content_disposition_type="inline", media_type="text/html",
                    headers={"Cache-Control": "no-cache"})

    @get("/", include_in_schema=False, sync_to_thread=False)
    def serve_index() -> Response[str] | File:
        return answer("")

    @get("/{path:path}", include_in_schema=False, sync_to_thread=False)
    def serve_path(path: FromPath[str]) -> Response[str] | File:
        return answer(path.lstrip("/"))

    return Router(path="/", route_handlers=[serve_index, serve_path])
