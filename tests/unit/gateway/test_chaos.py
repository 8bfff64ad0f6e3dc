"""The chaos ``send`` wrapper, driven with recorded ASGI messages."""

from __future__ import annotations

import asyncio
import time

import pytest

from fakeai.gateway import chaos

SSE = [(b"content-type", b"text/event-stream")]
EVENTS = b"".join(b"data: %d\n\n" % i for i in range(6))


def run(plan: chaos.Plan, bodies: list[bytes], headers=SSE) -> tuple[list[dict], bool]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def go() -> bool:
        wrapped = chaos.wrap(send, plan)
        try:
            await wrapped({"type": "http.response.start", "status": 200, "headers": headers})
            for i, body in enumerate(bodies):
                await wrapped({"type": "http.response.body", "body": body, "more_body": i < len(bodies) - 1})
        except chaos.Disconnect:
            return True
        return False

    return sent, asyncio.run(go())


def body_of(sent: list[dict]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_disconnect_cuts_inside_one_write_and_across_writes():
    sent, cut = run(chaos.Plan(disconnect_after=4), [EVENTS])
    assert cut and body_of(sent) == b"data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n"
    sent, cut = run(chaos.Plan(disconnect_after=4), [EVENTS[:20], EVENTS[20:]])
    assert cut and body_of(sent).count(b"\n\n") == 4
    sent, cut = run(chaos.Plan(disconnect_after=0), [b"{}"], headers=[(b"content-type", b"application/json")])
    assert cut and body_of(sent) == b""
    sent, cut = run(chaos.Plan(disconnect_after=99), [EVENTS])
    assert not cut and body_of(sent) == EVENTS and sent[-1]["more_body"] is False


def test_malformed_chunk_goes_after_k_events_and_only_in_streams():
    sent, _ = run(chaos.Plan(malformed_after=2), [EVENTS])
    assert body_of(sent) == EVENTS[:18] + chaos.MALFORMED + EVENTS[18:]
    sent, _ = run(chaos.Plan(malformed_after=0), [b"{}"], headers=[(b"content-type", b"application/json")])
    assert body_of(sent) == b"{}"


@pytest.mark.parametrize("after", [0, 3])
def test_stall_holds_the_stream(after):
    start = time.monotonic()
    sent, _ = run(chaos.Plan(stall_after=after, stall_s=0.05), [EVENTS])
    assert time.monotonic() - start >= 0.05 and body_of(sent) == EVENTS


def test_first_byte_delay():
    start = time.monotonic()
    run(chaos.Plan(first_byte_s=0.05), [b"{}"], headers=[])
    assert time.monotonic() - start >= 0.05
    assert chaos.Plan.drawn("stall", 2, 0.5) == chaos.Plan(stall_after=2, stall_s=0.5)
    with pytest.raises(ValueError, match="unknown chaos"):
        chaos.behaviour("explode")
