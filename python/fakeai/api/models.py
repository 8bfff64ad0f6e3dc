"""``GET /v1/models`` and ``GET /v1/models/{id}`` (ids may contain ``/``); loaded LoRA adapters are listed
after the base models with vLLM's ``root`` (the adapter's path) and ``parent`` (its base model).

A request with an ``anthropic-version`` header (what Anthropic's SDKs send) gets Anthropic's shape of
the same models: each a ``ModelInfo`` (``{"type": "model", "id", "display_name", "created_at"`` as RFC
3339, ``"lifecycle": "active"``, ``max_input_tokens``, ...}), the list a page of them
(``data``, ``has_more``, ``first_id``, ``last_id``; ``limit`` 1 to 1000, default 20, ``before_id`` /
``after_id``), and errors in Anthropic's envelope (an unknown id: 404 ``not_found_error``).
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.resources import anthropic_list, anthropic_list_response, anthropic_page_params, rfc3339
from fakeai.context import ServerContext
from fakeai.engine.lora import LoraModule
from fakeai.errors import ApiError, anthropic_response

ANTHROPIC_VERSION = "anthropic-version"


def anthropic_model(card: dict[str, object]) -> dict[str, object]:
    """Anthropic's ``ModelInfo`` of a model's OpenAI card."""
    context = card.get("max_model_len")
    created = card.get("created")
    return {
        "type": "model",
        "id": card["id"],
        "display_name": card["id"],
        "created_at": rfc3339(created if isinstance(created, (int, float)) else 0),
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "max_input_tokens": context,
        "max_tokens": None,
    }


def routes(ctx: ServerContext) -> list[Route]:
    catalog = ctx.catalog
    loras = ctx.loras
    default_parent = ctx.settings.lora_base_model
    store = ctx.store  # fine-tuned models live in the store, so every worker lists them

    def adapter_card(adapter: LoraModule) -> dict[str, object]:
        parent = adapter.base_model_name or default_parent
        info = catalog.get(parent)
        return adapter.card(parent, info.card() if info else None)

    def cards() -> list[dict[str, object]]:
        stored = store.all("model")
        ids = {m["id"] for m in stored}
        data = [m.card() for m in catalog.all() if m.id not in ids] + stored
        return data + [adapter_card(a) for a in loras.all()]

    def card_of(model_id: str) -> dict[str, object] | None:
        adapter = loras.find(model_id)
        if adapter is not None:
            return adapter_card(adapter)
        stored = store.get("model", model_id)
        if stored is not None:
            return stored
        info = catalog.get(model_id)
        return None if info is None else info.card()

    async def list_models(request: Request) -> Response:
        if ANTHROPIC_VERSION in request.headers:
            try:
                page = anthropic_page_params(request)
                data, has_more = anthropic_list([anthropic_model(c) for c in cards()], page)
            except ApiError as e:
                return anthropic_response(e)
            return anthropic_list_response(data, has_more)
        body = {"object": "list", "data": cards()}
        return Response(orjson.dumps(body), media_type="application/json")

    async def retrieve_model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        card = card_of(model_id)
        if ANTHROPIC_VERSION in request.headers:
            if card is None:
                return anthropic_response(ApiError(404, f"model: {model_id}"))
            return Response(orjson.dumps(anthropic_model(card)), media_type="application/json")
        if card is None:
            raise ApiError(
                404,
                f"The model '{model_id}' does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return Response(orjson.dumps(card), media_type="application/json")

    async def delete_model(request: Request) -> Response:
        model_id = request.path_params["model_id"]
        if store.delete("model", model_id) is None:
            error = ApiError(
                404,
                f"The model '{model_id}' does not exist or is not yours to delete.",
                param="model",
                code="model_not_found",
            )
            if ANTHROPIC_VERSION in request.headers:
                return anthropic_response(error)
            raise error
        return Response(
            orjson.dumps({"id": model_id, "object": "model", "deleted": True}), media_type="application/json"
        )

    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", delete_model, methods=["DELETE"]),
        Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
    ]
