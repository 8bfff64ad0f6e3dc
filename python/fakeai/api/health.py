"""``GET /health``: liveness for load balancers and test harnesses."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext

_HEALTHY = b'{"status":"healthy"}'


async def health(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/health", health, methods=["GET"])]
