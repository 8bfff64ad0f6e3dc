"""The server-sent events of the audio endpoints (a streamed transcript, streamed speech), paced as a
token stream is: step ``i`` at the model's TTFT + ``i`` x ITL after the request began (``--ttft`` /
``--itl``, ``x-fakeai-ttft-ms`` / ``x-fakeai-itl-ms``), written by the worker's ticker from the core's
pacer, not by a Python loop; all in one write when the ITL is zero. A streamed transcript goes out in
:func:`pieces`."""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson

from fakeai.context import ServerContext
from fakeai.engine import pacing
from fakeai.engine.latency import LatencyProfile
from fakeai.http.asgi import SSE_HEADERS, Message, Receive, Scope, Send, body_send

#: A streamed transcript's deltas: a word with the whitespace before it, or one punctuation mark (with
#: its own).
PIECE = re.compile(r"\s*\w+|\s*[^\w\s]|\s+$")


def pieces(text: str) -> list[str]:
    """The pieces a stream sends ``text`` in (they join into it)."""
    return PIECE.findall(text) or [text]


def event(payload: object) -> bytes:
    """One SSE event: ``data: <json>`` and a blank line."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


async def send_steps(
    ctx: ServerContext,
    scope: Scope,
    receive: Receive,
    send: Send,
    steps: list[bytes],
    lat: LatencyProfile,
    start: float,
    headers: Sequence[tuple[bytes, bytes]] = (),
    spacing: float = 1.0,
) -> None:
    """Send ``steps`` (each one or more events) as a ``text/event-stream``, step ``i`` at
    ``start`` + TTFT + ``i`` x ``spacing`` x ITL, with ``headers`` added to the SSE ones."""
    ttft, itl = lat.ttft, lat.itl * spacing
    if itl > 0:
        offsets = [ttft + i * itl for i in range(len(steps))]
    else:
        steps, offsets = [b"".join(steps)], [ttft]
    all_headers = [*SSE_HEADERS, *headers]

    async def start_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = all_headers
        await send(message)

    await pacing.send_stream(
        receive, start_send, steps, offsets, start, ctx.ticker, body_send=body_send(scope, send)
    )
