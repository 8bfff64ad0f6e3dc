"""What the gateway middleware answers and how it wraps a request: its error responses (401, 429,
injected faults, refused bodies) in OpenAI's envelope, or Anthropic's on ``/v1/messages``, or Text
Generation Inference's on TGI's routes (:func:`tgi_body`), and the ``receive``/``send`` wrappers (a
replayed body, a bounded body, extra response headers)."""

from __future__ import annotations

import math
from collections.abc import Awaitable

import orjson

from fakeai.errors import ANTHROPIC_PATH, ApiError, anthropic_error
from fakeai.gateway.keys import mask
from fakeai.gateway.limits import Limits, refusal
from fakeai.http.asgi import Message, Receive, Send, too_large

#: Text Generation Inference's routes (exact paths: ``/`` is its compat route), see :mod:`fakeai.api.tgi`.
#: The envelope goes by path alone, so a refused ``GET /`` (the index, refused only without a key) gets
#: TGI's too: TGI's own ``GET /`` is its health route.
TGI_PATHS = frozenset(("/", "/generate", "/generate_stream"))
#: TGI's ``error_type`` by status; any other 4xx is ``validation``, any other 5xx ``generation``.
TGI_ERROR_TYPES = {401: "unauthorized", 424: "generation", 429: "overloaded", 503: "overloaded"}
REQUEST_ID = b"x-request-id"
#: Anthropic's name for the request's id (the SDK's ``_request_id``), sent on Anthropic requests too.
ANTHROPIC_REQUEST_ID = b"request-id"


def error(
    path: str, status: int, message: str, type: str, code: str | int | None, anthropic_type: str
) -> bytes:
    if path.startswith(ANTHROPIC_PATH):
        return orjson.dumps({"type": "error", "error": {"type": anthropic_type, "message": message}})
    if path in TGI_PATHS:
        return tgi_body(status, message)
    return ApiError(status, message, type=type, code=code).body()


def tgi_body(status: int, message: str) -> bytes:
    """TGI's error envelope, ``{"error": message, "error_type": ...}``."""
    kind = TGI_ERROR_TYPES.get(status) or ("generation" if status >= 500 else "validation")
    return orjson.dumps({"error": message, "error_type": kind})


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def replay(body: bytes, receive: Receive) -> Receive:
    done = False

    async def replayed() -> Message:
        nonlocal done
        if done:
            return await receive()
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` of a body sent without a length (chunked): it raises a 413 once the body passes
    ``limit`` bytes, and a 400 (:func:`incomplete_body`) when the body ends before its last chunk."""
    size = 0
    ended = False

    async def bounded() -> Message:
        nonlocal size, ended
        message = await receive()
        if message["type"] == "http.disconnect" and not ended:
            raise incomplete_body()
        ended = not message.get("more_body", False)
        size += len(message.get("body", b""))
        if size > limit:
            raise too_large(limit)
        return message

    return bounded


def incomplete_body() -> ApiError:
    """A chunked body that ends before its last chunk. granian reports a malformed chunk (a size that
    is not hex, a chunk not ended by CRLF) as it reports a client that left, an ``http.disconnect``,
    so the client gets this 400 rather than nothing; when it did leave, no one reads it. (A body with
    a ``content-length`` that ends early is a client that left: nothing is answered, the metrics count
    a 499.)"""
    message = (
        "The request body ended before its last chunk: its chunked encoding is malformed, or the "
        "connection closed."
    )
    return ApiError(400, message, code="incomplete_body")


def request_id_headers(request_id: bytes, anthropic: bool) -> list[tuple[bytes, bytes]]:
    """The response headers naming the request: ``x-request-id``, and for an Anthropic request
    Anthropic's ``request-id`` too (the same id)."""
    if anthropic:
        return [(REQUEST_ID, request_id), (ANTHROPIC_REQUEST_ID, request_id)]
    return [(REQUEST_ID, request_id)]


def with_request_id(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    """``send`` with the request id ``headers`` (:func:`request_id_headers`) on the response start
    (when no outer layer appends them, see :data:`~fakeai.http.asgi.EXTRA_HEADERS`)."""

    def sending(message: Message) -> Awaitable[None]:  # the server's awaitable: no coroutine per message
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
        return send(message)

    return sending


def retry_after(seconds: float) -> list[tuple[bytes, bytes]]:
    return [
        (b"retry-after", str(max(1, math.ceil(seconds))).encode()),
        (b"retry-after-ms", str(max(1, math.ceil(seconds * 1000))).encode()),
    ]


def with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]  # each response's own dict
        await send(message)

    return sending


async def fail(send: Send, path: str, e: ApiError) -> None:
    """Answer ``e`` in the envelope of ``path``'s API."""
    headers = (
        [(k.encode("latin-1"), v.encode("latin-1")) for k, v in e.headers.items()] if e.headers else None
    )
    if path.startswith(ANTHROPIC_PATH):
        status, body = anthropic_error(e)
        await send_json(send, status, orjson.dumps(body), headers)
    elif path in TGI_PATHS:
        await send_json(send, e.status, tgi_body(e.status, e.message), headers)
    else:
        await send_json(send, e.status, e.body(), headers)


def unauthorized_body(path: str, presented: str | None) -> bytes:
    """OpenAI's (or Anthropic's, or TGI's) 401 body for a missing or wrong key (HTTP, and a WebSocket
    upgrade)."""
    if presented:
        message = (
            f"Incorrect API key provided: {mask(presented)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )
    else:
        message = (
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    if path.startswith(ANTHROPIC_PATH):
        message = "invalid x-api-key" if presented else "x-api-key header is required"
    return error(path, 401, message, "invalid_request_error", "invalid_api_key", "authentication_error")


async def unauthorized(send: Send, path: str, presented: str | None) -> None:
    """OpenAI's (or Anthropic's) 401 for a missing or wrong key."""
    await send_json(send, 401, unauthorized_body(path, presented))


async def throttled(
    send: Send,
    path: str,
    refused: int,
    retry: float,
    limits: Limits,
    tokens: int,
    headers: list[tuple[bytes, bytes]],
) -> None:
    """OpenAI's 429 for a request over a rate limit, with its retry-after headers."""
    message, what = refusal(refused, retry, limits, tokens)
    body = error(path, 429, message, what, "rate_limit_exceeded", "rate_limit_error")
    await send_json(send, 429, body, [*headers, *retry_after(retry)])
