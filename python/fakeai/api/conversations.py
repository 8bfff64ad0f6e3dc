"""``/v1/conversations``: create, retrieve, update (metadata), delete; and a conversation's items: add,
list (a cursor page, newest first by default), retrieve, delete.

Items are the Responses API's input items, checked as ``input`` is (:func:`fakeai.engine.responder.
input_items`: a message's string content becomes an ``input_text`` part, or ``output_text`` for an
assistant's; each item gets an id unless it has one). A response created with ``conversation`` reads
the items as its context and appends its input and output items (:mod:`fakeai.api.responses`).
Everything lives in the server's store (:mod:`fakeai.store.conversations`), so any worker answers
the same, under ``--max-expiring-bytes`` as stored responses are. ``include`` is accepted on the item
routes and changes nothing: items are returned as stored.

Bounds: 20 items a request (OpenAI's), 1000 items of 32 MiB a conversation (fakeai's: a 400
``conversation_full`` past either), OpenAI's metadata rules (16 pairs, keys up to 64 characters,
values up to 512). Deleting a conversation deletes its items too (OpenAI keeps them for the
responses that hold them; fakeai's responses keep their own copies, so nothing else can reach them).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.resources import json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine.responder import check_appendable, duplicate_item, too_many_items
from fakeai.engine.response_items import input_items
from fakeai.errors import not_found
from fakeai.schemas.common import check_metadata
from fakeai.schemas.conversations import AddItems, CreateConversation, UpdateConversation
from fakeai.store import Conflict, Missing, Obj, StorageFull, Store, conversations


def append(store: Store, conversation_id: str, items: list[Obj], budget: int, param: str) -> None:
    """Add items to a conversation, or the 400 of a full conversation or an id it holds already
    (``param`` names the request's list of them)."""
    check_appendable([], items, param)
    try:
        conversations.append(store, conversation_id, items, budget)
    except StorageFull:
        raise too_many_items(len(items), param) from None
    except Missing:
        raise not_found("conversation", conversation_id, param="conversation") from None
    except Conflict:
        i = next((i for i, it in enumerate(items) if conversations.item(store, conversation_id, it["id"])), 0)
        raise duplicate_item(items[i]["id"], f"{param}[{i}].id") from None


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_body_bytes
    budget = ctx.settings.max_expiring_bytes
    create_decoder = msgspec.json.Decoder(CreateConversation)
    update_decoder = msgspec.json.Decoder(UpdateConversation)
    add_decoder = msgspec.json.Decoder(AddItems)

    def get(request: Request) -> Obj:
        id = request.path_params["conversation_id"]
        conversation = store.get(conversations.KIND, id)
        if conversation is None:
            raise not_found("conversation", id)
        return conversation

    async def create(request: Request) -> Response:
        req = await json_body(request, create_decoder, limit)
        check_metadata(req.metadata)
        items = input_items(req.items, "items") if req.items else []
        check_appendable([], items, "items")
        conversation = conversations.new(req.metadata)
        try:
            conversations.create(store, conversation, items, budget)
        except StorageFull:
            raise too_many_items(len(items), "items") from None
        return json_response(conversation)

    async def retrieve(request: Request) -> Response:
        return json_response(get(request))

    async def update(request: Request) -> Response:
        conversation = get(request)
        req = await json_body(request, update_decoder, limit)
        check_metadata(req.metadata)
        changed = {**conversation, "metadata": req.metadata or {}}
        if not store.update(conversations.KIND, changed):
            raise not_found("conversation", conversation["id"])  # deleted meanwhile
        return json_response(changed)

    async def delete(request: Request) -> Response:
        id = request.path_params["conversation_id"]
        if not conversations.delete(store, id):
            raise not_found("conversation", id)
        return json_response({"id": id, "object": "conversation.deleted", "deleted": True})

    async def add_items(request: Request) -> Response:
        conversation = get(request)
        req = await json_body(request, add_decoder, limit)
        items = input_items(req.items, "items")
        append(store, conversation["id"], items, budget, "items")
        return list_response(items, False)

    async def list_items(request: Request) -> Response:
        conversation = get(request)
        limit_, order, after = page_params(request)
        data, more = conversations.page(store, conversation["id"], after, limit_, order)
        return list_response(data, more)

    def item_of(request: Request) -> tuple[Obj, str]:
        return get(request), request.path_params["item_id"]

    async def retrieve_item(request: Request) -> Response:
        conversation, item_id = item_of(request)
        item = conversations.item(store, conversation["id"], item_id)
        if item is None:
            raise not_found("item", item_id)
        return json_response(item)

    async def delete_item(request: Request) -> Response:
        conversation, item_id = item_of(request)
        if conversations.delete_item(store, conversation["id"], item_id) is None:
            raise not_found("item", item_id)
        return json_response(conversation)

    one = "/v1/conversations/{conversation_id}"
    return [
        Route("/v1/conversations", create, methods=["POST"]),
        Route(one, retrieve, methods=["GET"]),
        Route(one, update, methods=["POST"]),
        Route(one, delete, methods=["DELETE"]),
        Route(one + "/items", add_items, methods=["POST"]),
        Route(one + "/items", list_items, methods=["GET"]),
        Route(one + "/items/{item_id}", retrieve_item, methods=["GET"]),
        Route(one + "/items/{item_id}", delete_item, methods=["DELETE"]),
    ]
