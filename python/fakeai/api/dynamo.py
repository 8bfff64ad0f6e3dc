"""Observability of the simulated cluster over HTTP: ``GET /kv-cache/metrics``, ``GET /dynamo/metrics``
(Prometheus text, AI-Dynamo-style names) and ``GET /dynamo/metrics/json``; the collector and the views
are :mod:`fakeai.observability.dynamo`.
"""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.observability.dynamo import DynamoCollector, Started, dynamo_view, kv_cache_view


def routes(ctx: ServerContext) -> list[Route]:
    cluster, started = ctx.cluster, Started()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DynamoCollector(cluster))

    async def kv_cache_metrics(request: Request) -> Response:
        return Response(orjson.dumps(kv_cache_view(cluster)), media_type="application/json")

    async def dynamo_metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def dynamo_metrics_json(request: Request) -> Response:
        return Response(orjson.dumps(dynamo_view(cluster, started)), media_type="application/json")

    return [
        Route("/kv-cache/metrics", kv_cache_metrics, methods=["GET"]),
        Route("/dynamo/metrics", dynamo_metrics, methods=["GET"]),
        Route("/dynamo/metrics/json", dynamo_metrics_json, methods=["GET"]),
    ]
