"""Stored chat completions: ``POST /v1/chat/completions`` with ``store: true`` keeps the completion, then
``GET /v1/chat/completions`` lists them (``model`` and ``metadata[key]=value`` filters, a cursor page in
``asc`` order by default, as OpenAI's), ``GET``/``POST``/``DELETE /v1/chat/completions/{id}`` retrieve,
update (``metadata`` only) and delete one, and ``GET /v1/chat/completions/{id}/messages`` pages through
its request's messages.

What is kept (:mod:`fakeai.store.chat_completions`): the ``chat.completion`` object the client got
(a stream's chunks assembled into one; every choice of ``n``) with the request's ``metadata``, and the
request's messages. It lives in the server's store, so any worker answers alike, as an expiring group
under ``--max-expiring-bytes``, the budget stored responses and video jobs share: past it the oldest
go first, so a long load test with ``store: true`` never fills the disk, and a dropped completion is a
404 like an unknown id. One budget rather than a sibling one: the store keeps one running total of
expiring bytes, so one knob bounds the disk whatever mix of APIs a test stores through.

A ``store: true`` request never takes the Rust hot path (:mod:`fakeai.api.hot`): the Python chain
(whose decoder, like every chat request's, holds ``metadata`` to OpenAI's 16 pairs, 64-character keys
and 512-character values) writes the completion before sending it, so a client that lists right after its answer finds it.
A stream is assembled from its chunks then, some 2.5 us per chunk on the worker's event loop (40 ms for
16,384 tokens): about what pacing those chunks out costs the loop anyway. Requests without
``store: true`` are served exactly as before.
"""

from __future__ import annotations

from types import EllipsisType

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.generation import Render
from fakeai.api.resources import fetch, json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine.lora import LoraModule
from fakeai.engine.render import Answer
from fakeai.errors import ApiError, bad_request, not_found
from fakeai.gateway.overrides import Overrides
from fakeai.schemas.chat import ChatCompletionUpdate, ChatRequest
from fakeai.schemas.common import check_metadata, decimal
from fakeai.store import StorageFull, Store
from fakeai.store.chat_completions import KIND, MESSAGES_KIND, assemble, store_message

WHAT = "chat completion"
#: The most ``metadata[key]=value`` filters a list takes (as many as an object holds).
MAX_FILTERS = 16


def too_large(exc: StorageFull) -> ApiError:
    """The 400 of a ``store: true`` answer larger than the whole ``--max-expiring-bytes`` budget (it is
    not stored, and nothing is dropped for it)."""
    return bad_request(
        f"The answer is too large to store: {exc} (--max-expiring-bytes). Send 'store': false.",
        param="store",
        code="storage_quota_exceeded",
    )


def keep(store: Store, budget: int, req: ChatRequest, answer: Answer) -> None:
    """Store the completion ``answer`` rendered for ``req``, and ``req``'s messages."""
    payload = answer.payload
    if isinstance(payload, bytes):
        completion = orjson.loads(payload)
    else:
        completion = assemble(payload, answer.prompt_tokens, answer.completion_tokens)
    completion["metadata"] = req.metadata or {}
    id = completion["id"]
    messages = {"id": id, "data": [store_message(id, i, m) for i, m in enumerate(req.messages)]}
    try:
        store.insert_expiring(
            [(KIND, completion), (MESSAGES_KIND, messages)], budget, tag=completion.get("model") or ""
        )
    except StorageFull as exc:
        raise too_large(exc) from None


def storing(ctx: ServerContext, render: Render) -> Render:
    """``render`` (chat's), storing the completion of a ``store: true`` request (see the module docs);
    any other request costs one attribute check more."""
    store, budget, cluster = ctx.store, ctx.settings.max_expiring_bytes, ctx.cluster

    def chat(
        ctx: ServerContext,
        req: ChatRequest,
        over: Overrides | None,
        start: float | None,
        lora: LoraModule | None | EllipsisType,
    ) -> Answer:
        if not req.store:
            return render(ctx, req, over, start, lora)
        answer = render(ctx, req, over, start, lora)  # metadata: checked by ChatRequest's decoder
        try:
            keep(store, budget, req, answer)
        except BaseException:
            cluster.release(answer)  # not sent: its batch slot is free again
            raise
        return answer

    return chat


def _filters(request: Request) -> dict[str, str] | None:
    """The list's ``metadata[key]=value`` filters, checked as metadata is."""
    filters: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("metadata[") and key.endswith("]"):
            filters[key[9:-1]] = value
            if len(filters) > MAX_FILTERS:
                break  # one more than allowed is enough for the 400
    check_metadata(filters)
    return filters or None


def _message_index(completion_id: str, after: str, count: int) -> int:
    """The index a message cursor ``{completion_id}-{index}`` names, or the 404 of an unknown one."""
    prefix = completion_id + "-"
    index = decimal(after[len(prefix) :], count - 1) if after.startswith(prefix) and count else None
    if index is None:
        raise not_found("chat completion message", after, param="after")
    return index


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    decoder = msgspec.json.Decoder(ChatCompletionUpdate)
    limit = ctx.settings.max_body_bytes

    async def list_completions(request: Request) -> Response:
        page_limit, order, after = page_params(request, default_order="asc")
        filters = _filters(request)
        if after is not None and store.get(KIND, after) is None:
            raise not_found(WHAT, after, param="after")
        model = request.query_params.get("model")
        data, has_more = store.page(
            KIND, tag=model, after=after, limit=page_limit, order=order, metadata=filters
        )
        return list_response(data, has_more)

    async def retrieve(request: Request) -> Response:
        return json_response(fetch(store, KIND, request.path_params["completion_id"], WHAT))

    async def update(request: Request) -> Response:
        completion_id = request.path_params["completion_id"]
        req = await json_body(request, decoder, limit)
        check_metadata(req.metadata)
        changed = {**fetch(store, KIND, completion_id, WHAT), "metadata": req.metadata or {}}
        if not store.update(KIND, changed):  # dropped or deleted meanwhile
            raise not_found(WHAT, completion_id)
        return json_response(changed)

    async def delete(request: Request) -> Response:
        completion_id = request.path_params["completion_id"]
        if store.delete(KIND, completion_id) is None:
            raise not_found(WHAT, completion_id)
        store.delete(MESSAGES_KIND, completion_id)
        return json_response({"id": completion_id, "object": "chat.completion.deleted", "deleted": True})

    async def list_messages(request: Request) -> Response:
        completion_id = request.path_params["completion_id"]
        page_limit, order, after = page_params(request, default_order="asc")
        items = fetch(store, MESSAGES_KIND, completion_id, WHAT)["data"]
        count = len(items)
        if order == "asc":
            begin = 0 if after is None else _message_index(completion_id, after, count) + 1
            return list_response(items[begin : begin + page_limit], begin + page_limit < count)
        end = count if after is None else _message_index(completion_id, after, count)
        return list_response(items[max(0, end - page_limit) : end][::-1], end > page_limit)

    return [
        Route("/v1/chat/completions", list_completions, methods=["GET"]),
        Route("/v1/chat/completions/{completion_id}", retrieve, methods=["GET"]),
        Route("/v1/chat/completions/{completion_id}", update, methods=["POST"]),
        Route("/v1/chat/completions/{completion_id}", delete, methods=["DELETE"]),
        Route("/v1/chat/completions/{completion_id}/messages", list_messages, methods=["GET"]),
    ]
