"""Reading request bodies and writing responses at the ASGI level, for the endpoints on the hot path.

Hot endpoints are plain ASGI callables routed by Starlette: they skip building ``Request`` and
``Response`` objects and hand the bytes rendered by the Rust core straight to the server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

import msgspec

from fakeai.errors import ApiError, invalid_body
from fakeai.schemas.common import check_json_shape

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Scope key holding the model a request asked for, set by whoever read it (the gateway, an
#: endpoint) when the request fails before its inference is recorded, so its error still counts
#: against that model in the per-model metrics.
REQUESTED_MODEL = "fakeai.requested_model"
#: Scope key present when an outer layer's ``send`` wrapper (the metrics middleware's, which every
#: response passes through) appends the headers of this list to the response start: an inner layer
#: with headers for every response (the gateway's ``x-request-id``) appends them here instead of
#: wrapping ``send`` once more, so each message crosses one wrapper, not one per layer.
EXTRA_HEADERS = "fakeai.extra_headers"
#: Scope key holding ``(wrapper, inner)``: the metrics middleware's ``send`` wrapper and the ``send`` it
#: wraps. That wrapper passes a successful response's body messages through untouched, so a stream
#: handed exactly ``wrapper`` may write its body through ``inner`` (:func:`body_send`): one Python call
#: less per token. Any other wrapper in between (chaos, drain, extra headers) keeps every message on
#: the full chain.
BODY_SEND = "fakeai.body_send"

#: Methods whose request may carry a body without a ``content-length`` (chunked).
BODY_METHODS = ("POST", "PUT", "PATCH")
JSON = b"application/json"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ClientGone(Exception):
    """The client disconnected before its request body was read."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, or a 413 when it exceeds ``limit`` bytes."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise too_large(limit)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(
    limit: int, what: str = "Request body", knob: str = "--max-body-bytes", code: str = "request_too_large"
) -> ApiError:
    """The 413 of a body (or, from :mod:`fakeai.http.multipart`, a file) over its ``limit``."""
    return ApiError(413, f"{what} is too large: the limit is {limit} bytes ({knob}).", code=code)


async def send_bytes(send: Send, body: bytes, status: int = 200, content_type: bytes = JSON) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def body_send(scope: Scope, send: Send) -> Send:
    """The ``send`` that a successful response's body messages may take (see :data:`BODY_SEND`)."""
    pair = scope.get(BODY_SEND)
    return pair[1] if pair is not None and pair[0] is send else send


class Endpoint:
    """Base of ASGI endpoint objects: a subclass implements ``__call__(scope, receive, send)``.

    Starlette routes a class instance as a raw ASGI app (a plain function would be wrapped in a
    ``Request``/``Response`` adapter), which is why hot endpoints are objects.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover
        raise NotImplementedError


async def read_json(receive: Receive, decoder: msgspec.json.Decoder[T], limit: int) -> T:
    """Read and decode a JSON request body; bad JSON, a body nested too deep or a bad field is a 400
    naming the parameter."""
    body = await read_body(receive, limit)
    check_json_shape(body)
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise invalid_body(exc) from None
