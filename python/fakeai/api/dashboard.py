"""``GET /dashboard``: a live page (static files from ``fakeai/web``, no build step, no CDN) that renders
``/metrics/stream``; and ``GET /``, the front door: a small JSON document pointing at the dashboard, the
OpenAI base URL, the metrics, the health probe and the documentation.

With ``--api-key`` the dashboard and its data stay open: ``/dashboard`` and ``/metrics`` are among the
default ``--auth-open-path`` prefixes (a browser cannot send a bearer key); list the open paths
yourself to close them."""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import DOCS_URL, __version__
from fakeai.context import ServerContext

WEB = Path(__file__).resolve().parent.parent / "web"
FILES = {
    "/dashboard": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/": ("index.html", "text/html; charset=utf-8"),  # as typed in a browser (no redirects)
    "/dashboard/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}


def static_file(name: str, media_type: str):
    """An endpoint serving one file of ``web/``, read once."""
    body = (WEB / name).read_bytes()

    async def serve(request: Request) -> Response:
        return Response(body, media_type=media_type, headers={"cache-control": "no-cache"})

    return serve


INDEX = orjson.dumps(
    {
        "object": "fakeai.index",
        "message": f"fakeai {__version__}: a simulated inference server that speaks the OpenAI API.",
        "openai_base_url": "/v1",
        "dashboard": "/dashboard",
        "metrics": "/metrics",
        "prometheus": "/metrics/prometheus",
        "health": "/health",
        "docs": DOCS_URL,
    },
    option=orjson.OPT_INDENT_2,
)


async def index(request: Request) -> Response:
    return Response(INDEX, media_type="application/json")


def routes(ctx: ServerContext) -> list[Route]:
    files = [Route(path, static_file(name, kind), methods=["GET"]) for path, (name, kind) in FILES.items()]
    return [Route("/", index, methods=["GET"]), *files]
