"""Metrics views: ``GET /metrics`` (JSON), ``/metrics/prometheus`` (also at TensorRT-LLM's
``/prometheus/metrics``), ``/metrics/by-model[/{id}]``,
``/metrics/csv``, the WebSocket ``/metrics/stream`` and ``GET /health/detailed``.

Every view reads the shared table, so any worker answers with server-wide figures.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fakeai.api import hot
from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request
from fakeai.observability import ModelGauges, Snapshot
from fakeai.observability.fake import FakeMetrics
from fakeai.observability.prometheus import MetricsCollector
from fakeai.observability.views import by_model, model_view, summary, to_csv

#: ``/metrics/stream`` pushes a snapshot this often unless ``?interval=`` (seconds) says otherwise.
STREAM_INTERVAL = 1.0
STREAM_INTERVAL_RANGE = (0.1, 60.0)


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type="application/json")


def check_params(request: Request, allowed: tuple[str, ...] = ()) -> None:
    """A 400 naming the first query parameter this view does not take."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise bad_request(
            f"Unknown query parameter '{unknown[0]}'.", param=unknown[0], code="unknown_parameter"
        )


def wants_exposition(accept: str) -> bool:
    """Whether a ``GET /metrics`` client asks for Prometheus text: its ``Accept`` names OpenMetrics or
    ``text/plain`` and not JSON, as a Prometheus server's scrape does (``application/openmetrics-text;
    ...,text/plain;version=0.0.4;q=0.3,*/*;q=0.2``), so a scrape job or ``PodMonitor`` written for
    vLLM's ``/metrics`` works unchanged. Browsers, SDKs, ``curl`` and ``httpx`` (``*/*``, ``text/html``)
    get the JSON summary, as before."""
    accept = accept.lower()
    return ("openmetrics" in accept or "text/plain" in accept) and "json" not in accept


def interval_param(raw: str | None) -> float:
    """The ``interval`` query parameter of ``/metrics/stream``, seconds."""
    if raw is None:
        return STREAM_INTERVAL
    lo, hi = STREAM_INTERVAL_RANGE
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        raise bad_request(
            f"'interval' must be a number of seconds from {lo} to {hi}, got {raw!r}.",
            param="interval",
            code="invalid_value",
        )
    return value


class MetricsViews:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.metrics = ctx.metrics
        self.registry = CollectorRegistry(auto_describe=False)
        self.fake_source = ctx.settings.fake_metrics
        self.fake = FakeMetrics.parse(self.fake_source) if self.fake_source else None
        collector = MetricsCollector(
            self.read,
            self.metrics.slo_seconds,
            self.metrics.uptime,
            self.lora_info,
            ctx.settings.metrics_flavor,
            lambda: hot.served(ctx),
        )
        self.registry.register(collector)

    def read(self) -> tuple[Snapshot, dict]:
        if self.ctx.settings.fake_metrics != self.fake_source:  # changed at run time (/admin/config)
            self.fake_source = self.ctx.settings.fake_metrics
            self.fake = FakeMetrics.parse(self.fake_source) if self.fake_source else None
        snap = Snapshot.read(self.metrics.table)
        if self.fake is not None:
            return self.fake.apply(snap), self.fake.gauges(snap)
        return snap, self.ctx.engine_gauges(snap)

    def lora_info(self) -> list[tuple[dict[str, str], float]]:
        """``vllm:lora_requests_info``: the registry's adapters with running/waiting requests now."""
        if self.fake is not None and self.fake.loras:
            max_lora = str(self.ctx.settings.max_loras)
            return [({"max_lora": max_lora, **labels}, value) for labels, value in self.fake.lora_info()]
        return [(self.ctx.loras.requests_info(), time.time())]

    def summary(self) -> dict:
        snap, gauges = self.read()
        return summary(
            snap, gauges, self.metrics.slo_seconds, self.metrics.uptime(), self.ctx.settings.workers
        )

    async def json(self, request: Request) -> Response:
        """The JSON summary, or the Prometheus text for a scraper that asks for it (see
        :func:`wants_exposition`)."""
        if wants_exposition(request.headers.get("accept", "")):
            return await self.prometheus(request)
        check_params(request)
        return _json(self.summary())

    async def prometheus(self, request: Request) -> Response:
        check_params(request)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def models(self, request: Request) -> Response:
        check_params(request)
        snap, gauges = self.read()
        rows = by_model(snap, gauges)
        return _json({"object": "list", "data": list(rows.values())})

    async def model(self, request: Request) -> Response:
        check_params(request)
        model_id = request.path_params["model_id"]
        snap, gauges = self.read()
        stats = snap.models.get(model_id)
        if stats is None:
            raise ApiError(
                404, f"No metrics recorded for model '{model_id}'.", param="model", code="model_not_found"
            )
        return _json(model_view(model_id, stats, gauges.get(model_id, ModelGauges())))

    async def csv(self, request: Request) -> Response:
        check_params(request)
        snap, gauges = self.read()
        return Response(
            to_csv(snap, gauges),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="fakeai-metrics.csv"'},
        )

    async def stream(self, websocket: WebSocket) -> None:
        """A JSON summary right away, then every ``interval`` seconds until the client goes."""
        await websocket.accept()
        try:
            interval = interval_param(websocket.query_params.get("interval"))
        except ApiError as exc:
            await websocket.send_bytes(exc.body())
            await websocket.close(code=1008, reason="invalid interval")
            return
        receiver = asyncio.ensure_future(websocket.receive())
        try:
            while True:
                await websocket.send_text(orjson.dumps(self.summary()).decode())
                done, _ = await asyncio.wait({receiver}, timeout=interval)
                if done:
                    if receiver.result()["type"] == "websocket.disconnect":
                        return
                    receiver = asyncio.ensure_future(websocket.receive())
        except (WebSocketDisconnect, OSError, RuntimeError):
            return
        finally:
            receiver.cancel()

    async def health(self, request: Request) -> Response:
        check_params(request)
        document = self.summary()
        return _json(
            {
                "status": "healthy",
                "uptime_seconds": document["uptime_seconds"],
                "workers": self.ctx.settings.workers,
                "metrics_recording": self.metrics.enabled,
                "metrics": {
                    k: document[k] for k in ("requests", "errors", "tokens", "latency_seconds", "slo")
                },
            }
        )


def routes(ctx: ServerContext) -> list[Route | WebSocketRoute]:
    views = MetricsViews(ctx)
    return [
        Route("/metrics", views.json, methods=["GET"]),
        Route("/metrics/prometheus", views.prometheus, methods=["GET"]),
        # TensorRT-LLM's path, where AIPerf looks when /metrics is not Prometheus text
        Route("/prometheus/metrics", views.prometheus, methods=["GET"]),
        Route("/metrics/by-model", views.models, methods=["GET"]),
        Route("/metrics/by-model/{model_id:path}", views.model, methods=["GET"]),
        Route("/metrics/csv", views.csv, methods=["GET"]),
        WebSocketRoute("/metrics/stream", views.stream),
        Route("/health/detailed", views.health, methods=["GET"]),
    ]
