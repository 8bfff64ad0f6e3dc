"""Sending a response when the simulation says it is ready, with one timer per worker process.

Deadlines are absolute (``time.monotonic()`` seconds, from the request's start), so a late wake-up
never delays the tokens after it: every step already due is written in one send.

Waiting is batched: instead of one event-loop timer per stream per token, every waiting stream parks a
future in the :class:`Ticker`'s slot nearest its deadline (1 ms slots), and the ticker keeps a single
loop timer armed for the earliest slot. When it fires it wakes every stream due, so the loop's timer
heap holds one entry however many streams are in flight, and streams whose deadlines fall in the same
millisecond are woken together. An idle server arms no timer; a response with nothing to wait for
(zero latency) never touches the ticker.
"""

from __future__ import annotations

import asyncio
import heapq
import time

from fakeai.asgi import SSE_HEADERS, Receive, Send, send_bytes

#: Width of a ticker slot, seconds.
RESOLUTION = 0.001
#: A slot is due this long before its end (timers of millisecond-resolution loops fire a little early).
EARLY = RESOLUTION / 2


class Ticker:
    """Wakes waiting coroutines at their deadlines, all from one event-loop timer."""

    def __init__(self) -> None:
        self.slots: dict[int, list[asyncio.Future[None]]] = {}
        self.order: list[int] = []  # heap of the keys of ``slots``
        self.armed: int | None = None
        self.handle: asyncio.TimerHandle | None = None

    async def until(self, deadline: float) -> None:
        """Return at ``deadline`` (at once when already past)."""
        if deadline <= time.monotonic():
            return
        slot = round(deadline / RESOLUTION)  # nearest slot: wake-ups are early or late by < RESOLUTION / 2
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        waiters = self.slots.get(slot)
        if waiters is None:
            self.slots[slot] = [future]
            heapq.heappush(self.order, slot)
            if self.armed is None or slot < self.armed:
                self._arm(loop, slot)
        else:
            waiters.append(future)
        await future

    def _arm(self, loop: asyncio.AbstractEventLoop, slot: int) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.armed = slot
        self.handle = loop.call_later(slot * RESOLUTION - time.monotonic(), self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self.handle = self.armed = None
        due = (time.monotonic() + EARLY) / RESOLUTION
        order, slots = self.order, self.slots
        while order and order[0] <= due:
            for future in slots.pop(heapq.heappop(order)):
                if not future.done():
                    future.set_result(None)
        if order:
            self._arm(loop, order[0])


async def send_after(send: Send, body: bytes, deadline: float, ticker: Ticker) -> None:
    """A whole JSON response, sent at ``deadline``."""
    await ticker.until(deadline)
    await send_bytes(send, body)


async def send_stream(
    receive: Receive, send: Send, steps: list[bytes], offsets: list[float], start: float, ticker: Ticker
) -> bool:
    """An SSE response: headers now, then each step at ``start + offsets[i]``.

    Steps that are already due when the writer wakes up are joined into one write. Returns False when
    the client went away before the end: the server may swallow writes to a closed connection (granian
    does), so a stream that waits listens for ``http.disconnect`` and stops at its next step.
    """
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    i, n = 0, len(steps)
    if n == 1:  # zero inter-token latency: the whole stream is one write
        await ticker.until(start + offsets[0])
        await send({"type": "http.response.body", "body": steps[0], "more_body": False})
        return True
    gone = asyncio.ensure_future(receive())
    try:
        while i < n:
            await ticker.until(start + offsets[i])
            if gone.done():
                return False
            now = time.monotonic()
            j = i + 1
            while j < n and start + offsets[j] <= now:
                j += 1
            body = steps[i] if j == i + 1 else b"".join(steps[i:j])
            await send({"type": "http.response.body", "body": body, "more_body": j < n})
            i = j
    except OSError:
        return False
    finally:
        gone.cancel()
    return True


async def respond(
    receive: Receive,
    send: Send,
    payload: bytes | list[bytes],
    schedule: float | list[float],
    start: float,
    ticker: Ticker,
) -> bool:
    """Send what the core rendered: a stream (lists of steps and offsets) or one body and its delay.
    Returns False when the client went away before the stream ended."""
    if isinstance(payload, list):
        return await send_stream(receive, send, payload, schedule, start, ticker)  # type: ignore[arg-type]
    await send_after(send, payload, start + schedule, ticker)  # type: ignore[operator]
    return True
