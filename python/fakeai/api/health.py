"""Probes: ``GET /health`` (liveness: answers as soon as a worker serves), ``GET /health/ready`` and
``GET /ready`` (readiness: 503 while the model loads, ``--startup-duration``, and while the engine
sleeps or wakes up, ``POST /sleep``), and vLLM's ``GET /version``.

Wire Kubernetes' liveness (and startup) probe to ``/health`` and its readiness probe to
``/health/ready`` (``deploy/fakeai.yaml``): a loading or sleeping pod stays alive and out of its
Service's endpoints.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import __version__
from fakeai.context import ServerContext

_HEALTHY = b'{"status":"healthy"}'
_READY = b'{"status":"ready"}'
#: The readiness status of each reason the engine cannot serve (``Control.unavailable``'s codes).
_STATUS = {"model_loading": "loading", "engine_sleeping": "sleeping", "engine_waking": "waking"}


async def health(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


def routes(ctx: ServerContext) -> list[Route]:
    control = ctx.control
    version = orjson.dumps({"version": __version__})

    async def ready(request: Request) -> Response:
        closed = control.unavailable()
        if closed is None:
            return Response(_READY, media_type="application/json")
        message, code, _ = closed
        body = orjson.dumps({"status": _STATUS.get(code, code), "message": message})
        return Response(body, 503, media_type="application/json")

    async def version_view(request: Request) -> Response:
        return Response(version, media_type="application/json")

    return [
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/version", version_view, methods=["GET"]),
    ]
