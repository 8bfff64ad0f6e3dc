"""``/v1/organization/usage/*`` and ``/v1/organization/costs``: time buckets of what this server served.

Computed from :class:`fakeai.engine.usage.UsageMeter` (every worker's answers, minute by minute).
Parameters as OpenAI's: ``start_time`` (required, Unix seconds), ``end_time``, ``bucket_width``
(``1m``, ``1h``, ``1d``; costs only ``1d``), ``group_by`` (``model``; costs ``line_item``), ``models``,
``limit`` (buckets per page, at most 1440/168/31 for 1m/1h/1d) and ``page`` (the ``next_page``
cursor). Times are Unix seconds up to year 9999; only the buckets of the page asked for are built,
so a range of centuries costs what ``limit`` buckets do. Buckets are aligned to UTC
multiples of their width. fakeai has no projects, users or keys behind requests, so ``project_id``,
``user_id``, ``api_key_id`` and ``batch`` are always null. Images count generated images, speech the
input characters, transcriptions the seconds of audio.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.resources import json_response
from fakeai.context import ServerContext
from fakeai.engine.usage import CACHED, INPUT, OUTPUT, REQUESTS, UsageMeter, price
from fakeai.errors import bad_request, shown
from fakeai.schemas.common import decimal

WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
NULL_DIMENSIONS = {"project_id": None, "user_id": None, "api_key_id": None}


def _result(kind: str, counts: list[int]) -> dict[str, Any]:
    requests = counts[REQUESTS]
    if kind == "completions":
        return {
            "input_tokens": counts[INPUT],
            "output_tokens": counts[OUTPUT],
            "input_cached_tokens": counts[CACHED],
            "input_audio_tokens": 0,
            "output_audio_tokens": 0,
            "num_model_requests": requests,
            "batch": None,
        }
    if kind == "embeddings":
        return {"input_tokens": counts[INPUT], "num_model_requests": requests}
    if kind == "images":
        return {"images": counts[OUTPUT], "num_model_requests": requests, "source": None, "size": None}
    if kind == "audio_speeches":
        return {"characters": counts[INPUT], "num_model_requests": requests}
    return {"seconds": counts[INPUT], "num_model_requests": requests}


def _list_param(request: Request, name: str) -> list[str]:
    values = request.query_params.getlist(name) + request.query_params.getlist(name + "[]")
    return [v for value in values for v in value.split(",") if v]


#: The latest time accepted (9999-12-31T23:59:59Z): a larger value is a 400, not a bignum.
MAX_UNIX_TIME = 253_402_300_799


def _unix(raw: str | None, param: str, message: str) -> int:
    """Unix seconds from a query parameter: ASCII digits up to :data:`MAX_UNIX_TIME` (``message`` says
    what a bad value should be; a missing one is named as missing)."""
    if raw is None:
        raise bad_request(
            f"Missing required parameter: '{param}' (Unix seconds).",
            param=param,
            code="missing_required_parameter",
        )
    value = decimal(raw, MAX_UNIX_TIME)
    if value is None:
        raise bad_request(message, param=param, code="invalid_value")
    return value


def _window(request: Request, widths: tuple[str, ...]) -> tuple[int, int, str, int]:
    """``(first bucket start, end, width name, limit)`` of a request."""
    query = request.query_params
    start = _unix(query.get("start_time"), "start_time", "'start_time' must be Unix seconds (0 or more).")
    end_message = "'end_time' must be Unix seconds after 'start_time'."
    end = _unix(query.get("end_time", str(int(time.time()) + 1)), "end_time", end_message)
    if end <= start:
        raise bad_request(end_message, param="end_time", code="invalid_value")
    width = query.get("bucket_width", "1d")
    if width not in widths:
        raise bad_request(f"'bucket_width' must be one of {', '.join(widths)}.", param="bucket_width")
    default, maximum = LIMITS[width]
    raw_limit = query.get("limit", str(default))
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 5) or not (
        1 <= int(raw_limit) <= maximum
    ):
        raise bad_request(f"'limit' must be from 1 to {maximum} for bucket_width {width}.", param="limit")
    seconds = WIDTHS[width]
    start = start // seconds * seconds
    page = query.get("page")
    if page is not None:
        cursor = page[5:]
        if not (page.startswith("page_") and cursor.isascii() and cursor.isdigit() and len(cursor) <= 12):
            raise bad_request("'page' must be a 'next_page' cursor from a previous answer.", param="page")
        start = max(start, int(cursor))
    return start, end, width, int(raw_limit)


def _buckets(
    meter: UsageMeter, kind: str, request: Request, widths: tuple[str, ...]
) -> tuple[list[tuple[int, int, dict[str, list[int]]]], str | None]:
    """Buckets ``(start, end, {model: counts})`` of one page, and the next page's cursor.

    Only the page's buckets are built: at most ``limit`` of them, whatever the range."""
    start, end, width, limit = _window(request, widths)
    seconds = WIDTHS[width]
    page = range(start, min(end, start + limit * seconds), seconds)
    more = start + limit * seconds < end
    if not page:
        return [], None
    models = set(_list_param(request, "models"))
    sums: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for minute, model, counts in meter.minutes(kind, page[0] // 60, min(end, page[-1] + seconds) // 60 + 1):
        at = minute * 60
        if at < start or at >= end or (models and model not in models):
            continue
        total = sums[(at - start) // seconds * seconds + start][model]
        for i, value in enumerate(counts):
            total[i] += value
    buckets = [(b, min(b + seconds, end), dict(sums.get(b, {}))) for b in page]
    return buckets, (f"page_{page[-1] + seconds}" if more else None)


def _page(buckets: list[dict[str, Any]], next_page: str | None) -> Response:
    return json_response(
        {"object": "page", "data": buckets, "has_more": next_page is not None, "next_page": next_page}
    )


def routes(ctx: ServerContext) -> list[Route]:
    meter = ctx.usage

    def usage_endpoint(kind: str) -> Any:
        async def usage(request: Request) -> Response:
            group_by = _list_param(request, "group_by")
            for g in group_by:
                if g not in ("model", "project_id", "user_id", "api_key_id", "batch", "size", "source"):
                    raise bad_request(f"Unsupported 'group_by' value {shown(g)}.", param="group_by")
            by_model = "model" in group_by
            buckets, next_page = _buckets(meter, kind, request, ("1m", "1h", "1d"))
            data = []
            for start, end, per_model in buckets:
                groups: dict[str | None, list[int]] = {}
                for model, counts in per_model.items():
                    key = model if by_model else None
                    total = groups.setdefault(key, [0, 0, 0, 0])
                    for i, value in enumerate(counts):
                        total[i] += value
                results = [
                    {
                        "object": f"organization.usage.{kind}.result",
                        **_result(kind, counts),
                        **NULL_DIMENSIONS,
                        "model": model,
                    }
                    for model, counts in sorted(groups.items(), key=lambda g: g[0] or "")
                ]
                data.append({"object": "bucket", "start_time": start, "end_time": end, "results": results})
            return _page(data, next_page)

        return usage

    async def costs(request: Request) -> Response:
        group_by = _list_param(request, "group_by")
        if any(g not in ("project_id", "line_item") for g in group_by):
            raise bad_request("'group_by' accepts 'project_id' and 'line_item'.", param="group_by")
        pages = [_buckets(meter, kind, request, ("1d",)) for kind in ("completions", "embeddings")]
        data = []
        for (start, end, chat_models), (_, _, embedding_models) in zip(pages[0][0], pages[1][0], strict=True):
            items: dict[str | None, float] = {}
            for model, counts in [*chat_models.items(), *embedding_models.items()]:
                input_price, output_price = price(model)
                for label, amount in (
                    (f"{model}, input", counts[INPUT] * input_price),
                    (f"{model}, output", counts[OUTPUT] * output_price),
                ):
                    key = label if "line_item" in group_by else None
                    items[key] = items.get(key, 0.0) + amount / 1e6
            results = [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": round(value, 9), "currency": "usd"},
                    "line_item": key,
                    "project_id": None,
                }
                for key, value in sorted(items.items(), key=lambda i: i[0] or "")
                if value > 0
            ]
            data.append({"object": "bucket", "start_time": start, "end_time": end, "results": results})
        return _page(data, pages[0][1])

    kinds = ("completions", "embeddings", "images", "audio_speeches", "audio_transcriptions")
    return [
        Route(f"/v1/organization/usage/{kind}", usage_endpoint(kind), methods=["GET"]) for kind in kinds
    ] + [Route("/v1/organization/costs", costs, methods=["GET"])]
