"""``GET /v1/models`` and ``GET /v1/models/{id}`` (ids may contain ``/``)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.errors import ApiError


def routes(ctx: ServerContext) -> list[Route]:
    catalog = ctx.catalog

    async def list_models(request: Request) -> Response:
        body = {"object": "list", "data": [m.card() for m in catalog.all()]}
        return Response(orjson.dumps(body), media_type="application/json")

    async def retrieve_model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        info = catalog.get(model_id)
        if info is None:
            raise ApiError(
                404,
                f"The model '{model_id}' does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return Response(orjson.dumps(info.card()), media_type="application/json")

    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    ]
