"""Sending a response when the simulation says it is ready.

Deadlines are absolute, measured from the request's start, so a late wake-up never delays the tokens
after it: every step already due is written in one send.
"""

from __future__ import annotations

import asyncio
import time

from fakeai.asgi import SSE_HEADERS, Send, send_bytes


async def wait_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline`` (no-op when already past)."""
    delay = deadline - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def send_after(send: Send, body: bytes, deadline: float) -> None:
    """A whole JSON response, sent at ``deadline``."""
    await wait_until(deadline)
    await send_bytes(send, body)


async def send_stream(send: Send, steps: list[bytes], offsets: list[float], start: float) -> None:
    """An SSE response: headers now, then each step at ``start + offsets[i]``.

    Steps that are already due when the writer wakes up are joined into one write. A client that
    goes away ends the stream quietly.
    """
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    i, n = 0, len(steps)
    try:
        while i < n:
            await wait_until(start + offsets[i])
            now = time.monotonic()
            j = i + 1
            while j < n and start + offsets[j] <= now:
                j += 1
            body = steps[i] if j == i + 1 else b"".join(steps[i:j])
            await send({"type": "http.response.body", "body": body, "more_body": j < n})
            i = j
    except OSError:
        return


async def respond(send: Send, payload: bytes | list[bytes], schedule: float | list[float], start: float) -> None:
    """Send what the core rendered: a stream (lists of steps and offsets) or one body and its delay."""
    if isinstance(payload, list):
        await send_stream(send, payload, schedule, start)  # type: ignore[arg-type]
    else:
        await send_after(send, payload, start + schedule)  # type: ignore[operator]
