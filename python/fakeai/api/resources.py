"""Conventions shared by the stored-resource APIs (files, uploads, batches ...): JSON bodies in and
out, the 404 for an unknown id, and OpenAI's cursor pages (``limit``, ``after``, ``order``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from fakeai.errors import bad_request, not_found
from fakeai.http.asgi import read_json
from fakeai.schemas.common import decimal
from fakeai.store import Obj, Store

T = TypeVar("T")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


async def json_body(request: Request, decoder: msgspec.json.Decoder[T], limit: int) -> T:
    return await read_json(request.receive, decoder, limit)


def fetch(store: Store, kind: str, id: str, what: str) -> Obj:
    """The stored object, or the 404 a client expects for an unknown id."""
    obj = store.get(kind, id)
    if obj is None:
        raise not_found(what, id)
    return obj


def page_params(
    request: Request, default_limit: int = 20, max_limit: int = 100, default_order: str = "desc"
) -> tuple[int, str, str | None]:
    """``(limit, order, after)`` of a list request, checked."""
    query = request.query_params
    raw_limit = query.get("limit")
    limit = default_limit
    if raw_limit is not None:
        parsed = decimal(raw_limit, max_limit)
        if parsed is None or parsed < 1:
            raise bad_request(
                f"'limit' must be an integer from 1 to {max_limit}, got '{raw_limit}'.", param="limit"
            )
        limit = parsed
    order = query.get("order", default_order)
    if order not in ("asc", "desc"):
        raise bad_request(f"'order' must be 'asc' or 'desc', got '{order}'.", param="order")
    return limit, order, query.get("after")


def list_response(data: list[Obj], has_more: bool) -> Response:
    """OpenAI's cursor page: ``{"object": "list", "data", "first_id", "last_id", "has_more"}``."""
    return json_response(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


def page(
    request: Request,
    store: Store,
    kind: str,
    *,
    tag: str | None = None,
    default_limit: int = 20,
    max_limit: int = 100,
    present: Callable[[Obj], Obj] | None = None,
) -> Response:
    """A cursor page of the stored ``kind`` objects (optionally shown through ``present``)."""
    limit, order, after = page_params(request, default_limit, max_limit)
    data, has_more = store.page(kind, tag=tag, after=after, limit=limit, order=order)
    if present is not None:
        data = [present(obj) for obj in data]
    return list_response(data, has_more)
