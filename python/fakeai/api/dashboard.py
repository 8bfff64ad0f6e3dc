"""``GET /dashboard``: a live page (static files from ``fakeai/web``, no build step, no CDN) that renders
``/metrics/stream``."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext

WEB = Path(__file__).resolve().parent.parent / "web"
FILES = {
    "/dashboard": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}


def static_file(name: str, media_type: str):
    """An endpoint serving one file of ``web/``, read once."""
    body = (WEB / name).read_bytes()

    async def serve(request: Request) -> Response:
        return Response(body, media_type=media_type, headers={"cache-control": "no-cache"})

    return serve


def routes(ctx: ServerContext) -> list[Route]:
    return [Route(path, static_file(name, kind), methods=["GET"]) for path, (name, kind) in FILES.items()]
