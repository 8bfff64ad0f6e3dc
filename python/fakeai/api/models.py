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
    store = ctx.store  # fine-tuned models live in the store, so every worker lists them

    async def list_models(request: Request) -> Response:
        stored = store.all("model")
        ids = {m["id"] for m in stored}
        body = {"object": "list", "data": [m.card() for m in catalog.all() if m.id not in ids] + stored}
        return Response(orjson.dumps(body), media_type="application/json")

    async def retrieve_model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        stored = store.get("model", model_id)
        if stored is not None:
            return Response(orjson.dumps(stored), media_type="application/json")
        info = catalog.get(model_id)
        if info is None:
            raise ApiError(
                404,
                f"The model '{model_id}' does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return Response(orjson.dumps(info.card()), media_type="application/json")

    async def delete_model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        if store.delete("model", model_id) is None:
            raise ApiError(
                404,
                f"The model '{model_id}' does not exist or is not yours to delete.",
                param="model",
                code="model_not_found",
            )
        return Response(
            orjson.dumps({"id": model_id, "object": "model", "deleted": True}), media_type="application/json"
        )

    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", delete_model, methods=["DELETE"]),
        Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    ]
