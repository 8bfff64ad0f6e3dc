"""Sending a response when the simulation says it is ready, from one timer per worker process.

Deadlines are absolute (``time.monotonic()`` seconds, from the request's start), so a late wake-up
never delays the tokens after it: every step already due is written in one send.

The :class:`Ticker` keeps one event-loop timer armed for the earliest pending deadline, rounded to
1 ms slots. When it fires it *writes* the due step of every stream parked in the slots now due, from
that one callback: a streamed token costs one ``send`` call, not the wake-up of a sleeping coroutine
with a timer of its own, so the event loop's work per token does not grow with the number of
streams. ``send`` is driven without a task: when the server completes it at once (granian does,
uvicorn mostly does) nothing else happens; when it must wait (back-pressure), the rest of that send
runs as a task and the stream resumes when it is done. Non-streamed answers wait in the same slots
(:meth:`Ticker.until`).
An idle server arms no timer, and a response with nothing to wait for never touches the ticker.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Generator
from typing import Any

from fakeai.asgi import SSE_HEADERS, Receive, Send, send_bytes

#: Width of a ticker slot, seconds.
RESOLUTION = 0.001
#: A slot is due this long before its time (loops with millisecond timers fire a little early).
EARLY = RESOLUTION / 2
#: Most the ticker arms its timer ahead of a slot to make up for late wake-ups (see ``Ticker.lead``).
MAX_LEAD = 0.002


class _Stream:
    """A stream parked in the ticker: what it sends, and where it is."""

    __slots__ = ("done", "gone", "next", "offsets", "send", "start", "steps")

    def __init__(
        self, send: Send, steps: list[bytes], offsets: list[float], start: float, gone: asyncio.Future[Any]
    ) -> None:
        self.send, self.steps, self.offsets, self.start = send, steps, offsets, start
        self.next = 0
        self.gone = gone
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def finish(self, complete: bool) -> None:
        if not self.done.done():
            self.done.set_result(complete)

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class _Rest:
    """The remainder of an awaitable whose first step yielded ``first``, awaitable by a task."""

    def __init__(self, steps: Generator[Any, Any, Any], first: Any) -> None:
        self.steps, self.first = steps, first

    def __await__(self) -> Generator[Any, Any, None]:
        value = yield self.first
        while True:
            try:
                value = yield (next(self.steps) if value is None else self.steps.send(value))
            except StopIteration:
                return


def _drive(awaitable: Awaitable[Any]) -> asyncio.Future[Any] | None:
    """Run ``awaitable`` as far as it goes now: None when it completed, else a task finishing it."""
    steps = awaitable.__await__()
    try:
        first = next(steps)
    except StopIteration:
        return None
    return asyncio.ensure_future(_Rest(steps, first))


class Ticker:
    """Wakes waiters and writes stream steps at their deadlines, all from one event-loop timer."""

    def __init__(self) -> None:
        self.slots: dict[int, list[asyncio.Future[None] | _Stream]] = {}
        self.order: list[int] = []  # heap of the keys of ``slots``
        self.armed: int | None = None
        self.handle: asyncio.TimerHandle | None = None
        #: True while ``_fire`` writes: streams parked meanwhile must not arm the timer for their
        #: next step, which is later than slots already waiting.
        self.firing = False
        #: How late the loop's timer has been firing lately (moving average, capped at MAX_LEAD): the
        #: timer is armed that much ahead of each slot, so steps go out on time on a busy loop.
        self.lead = 0.0

    async def until(self, deadline: float) -> None:
        """Return at ``deadline`` (at once when already past)."""
        if deadline <= time.monotonic():
            return
        future = asyncio.get_running_loop().create_future()
        self._park(future, deadline)
        await future

    def play(self, stream: _Stream) -> asyncio.Future[bool]:
        """Write ``stream``'s steps on schedule; the future says whether it ran to the end."""
        self._park(stream, stream.start + stream.offsets[0])
        return stream.done

    def _park(self, item: asyncio.Future[None] | _Stream, deadline: float) -> None:
        slot = round(deadline / RESOLUTION)  # nearest slot: early or late by at most RESOLUTION / 2
        waiters = self.slots.get(slot)
        if waiters is not None:
            waiters.append(item)
            return
        self.slots[slot] = [item]
        heapq.heappush(self.order, slot)
        if self.firing:  # _fire arms the timer for the earliest slot once it is done
            return
        if self.armed is None or slot < self.armed:
            if self.handle is not None:
                self.handle.cancel()
            self._arm(slot)

    def _arm(self, slot: int) -> None:
        self.armed = slot
        delay = slot * RESOLUTION - self.lead - time.monotonic()
        self.handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        now = time.monotonic()
        if self.armed is not None:
            late = now - (self.armed * RESOLUTION - self.lead)
            self.lead = min(MAX_LEAD, max(0.0, 0.9 * self.lead + 0.1 * late))
        self.handle = self.armed = None
        due = (now + EARLY + self.lead) / RESOLUTION
        order, slots = self.order, self.slots
        self.firing = True
        try:
            while order and order[0] <= due:
                for item in slots.pop(heapq.heappop(order)):
                    if isinstance(item, _Stream):
                        self._write(item, now)
                    elif not item.done():
                        item.set_result(None)
        finally:
            self.firing = False
        if order:
            self._arm(order[0])

    def _write(self, s: _Stream, now: float) -> None:
        """Send every step of ``s`` due by ``now`` in one write, then park it for its next step."""
        if s.gone.done():
            s.finish(False)
            return
        i, n, start, offsets = s.next, len(s.steps), s.start, s.offsets
        j = i + 1
        while j < n and start + offsets[j] <= now:
            j += 1
        body = s.steps[i] if j == i + 1 else b"".join(s.steps[i:j])
        s.next = j
        try:
            pending = _drive(s.send({"type": "http.response.body", "body": body, "more_body": j < n}))
        except OSError:
            s.finish(False)
            return
        except Exception as exc:  # the stream's own failure: raised to its endpoint, the ticker goes on
            s.fail(exc)
            return
        if pending is None:
            self._after_write(s)
        else:
            pending.add_done_callback(lambda f: self._resumed(s, f))

    def _resumed(self, s: _Stream, write: asyncio.Future[Any]) -> None:
        exc = None if write.cancelled() else write.exception()
        if exc is None:
            self._after_write(s)
        elif isinstance(exc, OSError):
            s.finish(False)
        else:
            s.fail(exc)

    def _after_write(self, s: _Stream) -> None:
        if s.next >= len(s.steps):
            s.finish(True)
        else:
            self._park(s, s.start + s.offsets[s.next])


async def send_stream(
    receive: Receive, send: Send, steps: list[bytes], offsets: list[float], start: float, ticker: Ticker
) -> bool:
    """An SSE response: headers now, then each step at ``start + offsets[i]``.

    Returns False when the client went away before the end: the server may swallow writes to a closed
    connection (granian does), so a stream that waits listens for ``http.disconnect`` and stops at its
    next step.
    """
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    if len(steps) == 1:  # zero inter-token latency: the whole stream is one write
        await ticker.until(start + offsets[0])
        await send({"type": "http.response.body", "body": steps[0], "more_body": False})
        return True
    gone = asyncio.ensure_future(receive())
    try:
        return await ticker.play(_Stream(send, steps, offsets, start, gone))
    finally:
        gone.cancel()



async def respond(
    receive: Receive,
    send: Send,
    payload: bytes | list[bytes],
    schedule: float | tuple[float, float] | list[float],
    start: float,
    ticker: Ticker,
) -> bool:
    """Send what the core rendered: a stream (lists of steps and offsets) or one JSON body when it is
    done (``schedule`` a delay, or the core's ``(first_token_at, done_at)``). Returns False when a
    stream's client went away before its end."""
    if isinstance(payload, list):
        return await send_stream(receive, send, payload, schedule, start, ticker)  # type: ignore[arg-type]
    done = schedule[1] if isinstance(schedule, tuple) else schedule
    if done > 0:  # type: ignore[operator]
        await ticker.until(start + done)  # type: ignore[operator]
    await send_bytes(send, payload)
    return True
