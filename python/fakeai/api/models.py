"""``GET /v1/models`` and ``GET /v1/models/{id}`` (ids may contain ``/``); loaded LoRA adapters are listed
after the base models with vLLM's ``root`` (the adapter's path) and ``parent`` (its base model)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.engine.lora import LoraModule
from fakeai.errors import ApiError


def routes(ctx: ServerContext) -> list[Route]:
    catalog = ctx.catalog
    loras = ctx.loras
    default_parent = ctx.settings.lora_base_model
    store = ctx.store  # fine-tuned models live in the store, so every worker lists them

    def adapter_card(adapter: LoraModule) -> dict[str, object]:
        parent = adapter.base_model_name or default_parent
        info = catalog.get(parent)
        return adapter.card(parent, info.card() if info else None)

    async def list_models(request: Request) -> Response:
        stored = store.all("model")
        ids = {m["id"] for m in stored}
        data = [m.card() for m in catalog.all() if m.id not in ids] + stored
        body = {"object": "list", "data": data + [adapter_card(a) for a in loras.all()]}
        return Response(orjson.dumps(body), media_type="application/json")

    async def retrieve_model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        adapter = loras.find(model_id)
        if adapter is not None:
            return Response(orjson.dumps(adapter_card(adapter)), media_type="application/json")
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
