"""Conventions shared by the stored-resource APIs (files, uploads, batches ...): JSON bodies in and
out, the 404 for an unknown id, OpenAI's cursor pages (``limit``, ``after``, ``order``), and
Anthropic's (``limit``, ``before_id``, ``after_id``) and RFC 3339 times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

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


def limit_param(request: Request, default: int, most: int) -> int:
    """A list request's ``limit`` query parameter: 1 to ``most``, ``default`` when absent."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    parsed = decimal(raw, most)
    if parsed is None or parsed < 1:
        raise bad_request(f"'limit' must be an integer from 1 to {most}, got '{raw}'.", param="limit")
    return parsed


def page_params(
    request: Request, default_limit: int = 20, max_limit: int = 100, default_order: str = "desc"
) -> tuple[int, str, str | None]:
    """``(limit, order, after)`` of a list request, checked."""
    query = request.query_params
    limit = limit_param(request, default_limit, max_limit)
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


def rfc3339(ts: float | None) -> str | None:
    """A Unix time as Anthropic writes times: ``2024-08-20T18:37:24.100435Z`` (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class AnthropicPage(NamedTuple):
    """A checked Anthropic list request: at most ``limit`` items after ``after_id`` (older, the
    default direction) or before ``before_id`` (newer)."""

    limit: int
    before_id: str | None
    after_id: str | None


#: Anthropic's bounds of a list's ``limit``.
ANTHROPIC_DEFAULT_LIMIT = 20
ANTHROPIC_MAX_LIMIT = 1000


def anthropic_page_params(request: Request) -> AnthropicPage:
    query = request.query_params
    limit = limit_param(request, ANTHROPIC_DEFAULT_LIMIT, ANTHROPIC_MAX_LIMIT)
    before, after = query.get("before_id"), query.get("after_id")
    if before is not None and after is not None:
        raise bad_request("only one of before_id and after_id may be given.", param="before_id")
    return AnthropicPage(limit, before, after)


def anthropic_list(items: list[Obj], page: AnthropicPage) -> tuple[list[Obj], bool]:
    """A page of ``items`` (the whole list, in list order; each with an ``id``) and whether more
    follow in its direction; an unknown cursor id is a 400."""
    cursor = page.before_id or page.after_id
    if cursor is None:
        return items[: page.limit], len(items) > page.limit
    at = next((i for i, item in enumerate(items) if item["id"] == cursor), None)
    if at is None:
        param = "before_id" if page.before_id else "after_id"
        raise bad_request(f"no object with id '{cursor}' to page from.", param=param)
    if page.after_id:
        rest = items[at + 1 :]
        return rest[: page.limit], len(rest) > page.limit
    start = max(0, at - page.limit)
    return items[start:at], start > 0


def anthropic_list_response(data: list[Obj], has_more: bool) -> Response:
    """Anthropic's page: ``{"data", "has_more", "first_id", "last_id"}``."""
    return json_response(
        {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    )
