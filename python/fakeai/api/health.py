"""``GET /health`` (liveness) and ``GET /ready`` (readiness, as vLLM simulators serve it) for load balancers,
Kubernetes probes and test harnesses. A worker answers both as soon as it serves: there are no weights to
load."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext

_HEALTHY = b'{"status":"healthy"}'
_READY = b'{"status":"ready"}'


async def health(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


async def ready(request: Request) -> Response:
    return Response(_READY, media_type="application/json")


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/health", health, methods=["GET"]), Route("/ready", ready, methods=["GET"])]
