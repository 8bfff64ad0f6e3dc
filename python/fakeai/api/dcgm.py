"""``GET /dcgm/metrics`` (the DCGM exporter's Prometheus text) and ``GET /dcgm/metrics/json``.

``?gpu=<index>`` limits either view to one GPU, as a scrape relabelling would.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.metrics import check_params
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.observability import Snapshot
from fakeai.observability.dcgm import GpuTelemetry, exposition
from fakeai.schemas.common import decimal

TEXT = "text/plain; version=0.0.4; charset=utf-8"


class DcgmViews:
    def __init__(self, ctx: ServerContext) -> None:
        self.metrics = ctx.metrics
        self.telemetry = GpuTelemetry(ctx.settings.gpu_model, ctx.settings.gpu_count)

    def read(self, request: Request) -> list[dict]:
        check_params(request, ("gpu",))
        raw = request.query_params.get("gpu")
        gpus = self.telemetry.read(Snapshot.read(self.metrics.table), self.metrics.uptime())
        if raw is None:
            return gpus
        index = decimal(raw, len(gpus) - 1)
        if index is None:
            raise bad_request(
                f"'gpu' must be a GPU index from 0 to {len(gpus) - 1}, got {raw!r}.",
                param="gpu",
                code="invalid_value",
            )
        return [gpus[index]]

    async def text(self, request: Request) -> Response:
        return Response(exposition(self.read(request)), media_type=TEXT)

    async def json(self, request: Request) -> Response:
        gpus = [
            {
                "gpu": int(g["labels"]["gpu"]),
                "uuid": g["labels"]["UUID"],
                "model_name": g["labels"]["modelName"],
                "device": g["labels"]["device"],
                "pci_bus_id": g["labels"]["pci_bus_id"],
                "hostname": g["labels"]["Hostname"],
                "metrics": g["values"],
            }
            for g in self.read(request)
        ]
        return Response(orjson.dumps({"object": "list", "data": gpus}), media_type="application/json")


def routes(ctx: ServerContext) -> list[Route]:
    views = DcgmViews(ctx)
    return [
        Route("/dcgm/metrics", views.text, methods=["GET"]),
        Route("/dcgm/metrics/json", views.json, methods=["GET"]),
    ]
