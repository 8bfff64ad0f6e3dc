"""Sending a response when the simulation says it is ready, from one timer per worker process.

Deadlines are absolute (``time.monotonic()`` seconds, from the request's start), so a late wake-up
never delays the tokens after it: every step already due is written in one send.

The :class:`Ticker` keeps one event-loop timer armed for the earliest pending deadline, rounded to
1 ms slots. When it fires, the core's :class:`~fakeai._core.Pacer` *writes* the due step of every
stream parked in the slots now due, from that one callback and without a Python frame per token: a
streamed token costs one ``send`` call made from Rust, not the wake-up of a sleeping coroutine with a
timer of its own, so the event loop's work per token does not grow with the number of streams.
``send`` is driven without a task: when the server completes it at once (granian does, uvicorn
mostly does) nothing else happens; when it must wait (back-pressure), the rest of that send runs as
a task and the stream resumes when it is done. Non-streamed answers wait in the same slots
(:meth:`Ticker.until`). An idle server arms no timer, and a response with nothing to wait for never
touches the ticker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from functools import partial
from typing import Any

from fakeai import _core
from fakeai.http.asgi import SSE_HEADERS, Receive, Send, send_bytes

#: An engine-timed request's engine, ticket and rendered answer (whose token timing, in the metrics
#: and the cluster's phase histograms, is counted once settled; None: not counted): its first and
#: last token are settled with the engine when due, and the timing counted then.
Settle = tuple[_core.SharedEngine, int, _core.Answer | None]

#: Width of a ticker slot, seconds.
RESOLUTION = 0.001
#: A slot is due this long before its time (loops with millisecond timers fire a little early).
EARLY = RESOLUTION / 2
#: Most the ticker arms its timer ahead of a slot to make up for late wake-ups (see ``Ticker.lead``).
MAX_LEAD = 0.002


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


class Ticker:
    """Wakes waiters and writes stream steps at their deadlines, all from one event-loop timer.

    The slots and the streams live in the core's :class:`~fakeai._core.Pacer`; this class keeps the
    timer armed for its earliest slot and finishes, as tasks, the rare writes that must wait."""

    def __init__(self) -> None:
        self.core = _core.Pacer(RESOLUTION)
        self.armed: int | None = None
        self.handle: asyncio.TimerHandle | None = None
        #: How late the loop's timer has been firing lately (moving average, capped at MAX_LEAD): the
        #: timer is armed that much ahead of each slot, so steps go out on time on a busy loop.
        self.lead = 0.0

    async def until(self, deadline: float) -> None:
        """Return at ``deadline`` (at once when already past)."""
        if deadline <= time.monotonic():
            return
        future = asyncio.get_running_loop().create_future()
        self._parked(self.core.wait(future, deadline))
        await future

    async def until_or_gone(
        self, deadline: float, receive: Receive, settle: Settle | None = None, first: float = 0.0
    ) -> bool:
        """Return True at ``deadline``, or False as soon as the client disconnects (``receive`` gives
        ``http.disconnect``): a non-streamed answer waiting for its time must not keep its memory and
        its batch slot for a client that left. With ``settle`` (an engine-timed request) the deadline
        is when the engine samples the last token (forecast at ``deadline``, first token at ``first``)."""
        now = time.monotonic()
        if deadline <= now:
            return True
        future = asyncio.get_running_loop().create_future()
        # the core skips a future already done
        if settle is None:
            self._parked(self.core.wait(future, deadline))
        else:
            # asked at once: the engine's bound from the batch the request joined saves a wake-up
            engine, ticket, answer = settle
            self._parked(self.core.wait(future, deadline, engine, ticket, first, now, answer))
        # granian's receive() hands back a future itself: watched with a callback, no task per answer
        gone = asyncio.ensure_future(receive())

        def wake(message: asyncio.Future[Any]) -> None:
            if not future.done() and _disconnect(message):
                future.set_result(None)

        gone.add_done_callback(wake)
        try:
            await future
        finally:
            gone.cancel()
        return not _disconnect(gone)

    def play(
        self,
        send: Send,
        steps: list[bytes] | _core.Steps,
        offsets: list[float],
        start: float,
        gone: asyncio.Future[Any],
        settle: Settle | None = None,
    ) -> asyncio.Future[bool]:
        """Write ``steps[i]`` through ``send`` at ``start + offsets[i]``; the future says whether the
        stream ran to its end (False once ``gone`` is done: the client left). With ``settle`` (an
        engine-timed request, step 0 its first token) every step moves by how late the engine
        delivers the first token, and the steps still to send are re-spaced to end on the engine's
        last token (see ``Settling`` in ``rust/fakeai_core/src/py/pacer.rs``)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if settle is None:
            stream, slot = self.core.play(send, steps, offsets, start, done)
        else:
            stream, slot = self.core.play(send, steps, offsets, start, done, *settle)
        gone.add_done_callback(lambda _: self.core.cancel(stream))
        self._parked(slot)
        return done

    def _parked(self, slot: int | None) -> None:
        if slot is not None and (self.armed is None or slot < self.armed):
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
        try:
            for stream, steps, first in self.core.fire(now + EARLY + self.lead, now):
                write = asyncio.ensure_future(_Rest(steps, first))
                write.add_done_callback(partial(self._resumed, stream))
        finally:  # whatever happened, the streams still parked keep their timer
            slot = self.core.earliest()
            if slot is not None:
                self._arm(slot)

    def _resumed(self, stream: int, write: asyncio.Future[Any]) -> None:
        if write.cancelled():
            self.core.cancel(stream)
        else:
            self._parked(self.core.resume(stream, write.exception()))


def _disconnect(message: asyncio.Future[Any]) -> bool:
    """Whether ``message`` (the next ``receive()`` after the body) is done and says the client
    disconnected."""
    return (
        message.done()
        and not message.cancelled()
        and message.exception() is None
        and message.result()["type"] == "http.disconnect"
    )


async def send_stream(
    receive: Receive,
    send: Send,
    steps: list[bytes] | _core.Steps,
    offsets: list[float],
    start: float,
    ticker: Ticker,
    settle: Settle | None = None,
    body_send: Send | None = None,
) -> bool:
    """An SSE response: headers now, then each step at ``start + offsets[i]`` (moved with the first
    token's settled time, see :meth:`Ticker.play`), written through ``body_send`` when given (a
    ``send`` that the body messages of this 200 response may take directly, one wrapper less per
    token: :func:`fakeai.http.asgi.body_send`).

    ``steps`` of a long stream is a :class:`~fakeai._core.Steps` that renders them as they come due,
    a window of at most a few hundred steps per write, so the stream never holds its whole rendering.

    Returns False when the client went away before the end: the server may swallow writes to a closed
    connection (granian does), so a stream that waits listens for ``http.disconnect`` and stops at its
    next step.
    """
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    body = body_send or send
    if isinstance(steps, list) and len(steps) == 1 and settle is None:  # no inter-token latency
        await ticker.until(start + offsets[0])
        await body({"type": "http.response.body", "body": steps[0], "more_body": False})
        return True
    gone = asyncio.ensure_future(receive())
    try:
        return await ticker.play(body, steps, offsets, start, gone, settle)
    finally:
        gone.cancel()


async def respond(
    receive: Receive,
    send: Send,
    payload: bytes | list[bytes] | _core.Steps,
    schedule: float | tuple[float, float] | list[float],
    start: float,
    ticker: Ticker,
    settle: Settle | None = None,
    body_send: Send | None = None,
) -> bool:
    """Send what the core rendered: a stream (lists of steps and offsets) or one JSON body when it is
    done (``schedule`` a delay, or the core's ``(first_token_at, done_at)``). Returns False when the
    client went away before the end (a non-streamed answer is then dropped at once, not sent).
    ``settle``: the engine and ticket of an engine-timed request (see :meth:`Ticker.play`);
    ``body_send``: see :func:`send_stream`."""
    if not isinstance(payload, bytes):
        return await send_stream(receive, send, payload, schedule, start, ticker, settle, body_send)  # type: ignore[arg-type]
    if isinstance(schedule, tuple):
        first, done = start + schedule[0], schedule[1]
    else:
        first, done = start, schedule  # type: ignore[assignment]
    if done > 0 and not await ticker.until_or_gone(start + done, receive, settle, first):  # type: ignore[operator]
        return False
    await send_bytes(send, payload)
    return True
