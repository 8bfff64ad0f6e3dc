"""``GET /metrics/rate-limits``: per-key usage and throttling of the shared rate-limit buckets."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext


def routes(ctx: ServerContext) -> list[Route]:
    limits = ctx.gateway.limits

    async def rate_limits(request: Request) -> Response:
        """Every key seen so far: its limits, what it was allowed and how often it was throttled."""
        body = {"object": "list", "default_limits": limits.default.as_dict(), "data": limits.usage()}
        return Response(orjson.dumps(body), media_type="application/json")

    return [Route("/metrics/rate-limits", rate_limits, methods=["GET"])]
