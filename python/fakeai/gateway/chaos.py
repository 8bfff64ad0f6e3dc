"""Chaos for responses: cut the connection after K chunks, stall mid-stream, send a malformed chunk,
delay the first byte.

Chaos wraps the ASGI ``send`` of one request, so it works on whatever the endpoint sends, however the
endpoint paces it: a chunk is one server-sent event (the bytes up to a blank line); a non-streaming
body is one chunk. A cut connection is an aborted response (the body never completes, as when a
provider's connection drops); a stall holds the stream after K chunks, then the chunks already due
go out together; a malformed chunk is an SSE event whose JSON is cut short, sent after K chunks.
Stalls and malformed chunks apply to streams only; a cut and a first-byte delay to any response.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fakeai.http.asgi import Message, Send

#: A chunk whose JSON is cut short: OpenAI's chunk shape, and Anthropic's event shape.
MALFORMED = (
    b'data: {"id":"chatcmpl-malformed","object":"chat.completion.chunk","choices":[{"index":0,"delta":\n\n'
)
MALFORMED_ANTHROPIC = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type\n\n'
)
BEHAVIOURS = ("disconnect", "stall", "malformed", "slow-first-byte")


class Disconnect(Exception):
    """Raised from ``send`` to abort the response mid-body; the gateway middleware swallows it."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do to one response. ``None`` fields are off."""

    disconnect_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    malformed_after: int | None = None
    first_byte_s: float = 0.0

    @classmethod
    def drawn(cls, behaviour: str, after: int, delay_s: float) -> Plan:
        if behaviour == "disconnect":
            return cls(disconnect_after=after)
        if behaviour == "stall":
            return cls(stall_after=after, stall_s=delay_s)
        if behaviour == "malformed":
            return cls(malformed_after=after)
        return cls(first_byte_s=delay_s)


def behaviour(name: str) -> str:
    name = name.strip().lower()
    if name not in BEHAVIOURS:
        raise ValueError(f"unknown chaos behaviour {name!r} (expected one of {', '.join(BEHAVIOURS)})")
    return name


def _split(body: bytes, events: int) -> int:
    """Offset just past the ``events``-th event of ``body`` (len(body) when it holds fewer)."""
    at = 0
    for _ in range(events):
        found = body.find(b"\n\n", at)
        if found < 0:
            return len(body)
        at = found + 2
    return at


def wrap(send: Send, plan: Plan, malformed_chunk: bytes = MALFORMED) -> Send:
    """``send`` with ``plan`` applied."""
    sent = 0  # chunks sent so far
    stalled = malformed = False
    sse = False

    async def chaotic(message: Message) -> None:
        nonlocal sent, stalled, malformed, sse
        if message["type"] == "http.response.start":
            if plan.first_byte_s > 0:
                await asyncio.sleep(plan.first_byte_s)
            sse = any(
                k == b"content-type" and v.startswith(b"text/event-stream") for k, v in message["headers"]
            )
            await send(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        events = body.count(b"\n\n") if sse else 1
        # The earliest point in this body where something happens, as a chunk count.
        marks = [
            m
            for m in (
                plan.disconnect_after,
                None if stalled or not sse else plan.stall_after,
                None if malformed or not sse else plan.malformed_after,
            )
            if m is not None and m < sent + events
        ]
        if not marks:
            sent += events
            await send(message)
            return
        mark = max(min(marks), sent)
        cut = _split(body, mark - sent) if sse else (0 if mark == sent else len(body))
        if cut or (mark == 0 and plan.disconnect_after == 0):
            # (an empty piece makes the server send the headers: with none, it answers a 500 instead)
            await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        sent = mark
        if plan.disconnect_after is not None and mark >= plan.disconnect_after:
            raise Disconnect
        if sse and plan.malformed_after is not None and not malformed and mark >= plan.malformed_after:
            malformed = True
            await send({"type": "http.response.body", "body": malformed_chunk, "more_body": True})
        if sse and plan.stall_after is not None and not stalled and mark >= plan.stall_after:
            stalled = True
            await asyncio.sleep(plan.stall_s)
        await chaotic({"type": "http.response.body", "body": body[cut:], "more_body": more})

    return chaotic
