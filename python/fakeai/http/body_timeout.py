"""A request body that stops arriving: the body read timeout granian lacks.

granian (hyper) times out a request's head (``--header-read-timeout``) but not its body: a client that
sends its head and then none or only part of the body it announced (or of a chunked body) held the
request, its connection and a descriptor of its worker for ever, and the reaper of silent connections
(:mod:`fakeai.runtime.connections`) cannot tell such a connection from one waiting for a long answer.

So each worker has one :class:`BodyClock`, and every awaited piece of a request body is registered
with it while it is awaited: by a :class:`BodyRead` (the ``receive`` the gateway middleware hands the
Python chain) or by the Rust hot path's ``HotCall`` (``rust/fakeai_core/src/py/hot_call.rs``). A piece
still awaited ``--body-read-timeout`` seconds after it was asked for is cancelled (the server's
awaitable is a future), which the reader takes for the timeout when its task itself was not cancelled
(:func:`given_up`). The request is then answered with a 408 (``request_timeout``) that closes the
connection: by the gateway middleware, to which the hot path hands the request with the scope key
:data:`TIMED_OUT` set. As nginx's ``client_body_timeout``, the time counts between two pieces, not for
the whole body: a slow upload that keeps sending is read whole.

Costs: a dictionary entry while each piece is awaited (the hot path's body usually comes in one), a
small object per request with a body on the Python chain, and a timer on the worker's loop that runs
only while some piece is awaited. Once the body has been read, a :class:`BodyRead` hands out the
server's own awaitable (the pacer's disconnect watch gets granian's future, not a coroutine).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from fakeai.errors import ApiError
from fakeai.http.asgi import Message, Receive

#: Scope key the Rust hot path sets on a request whose body it gave up waiting for, before it hands
#: the request to the Python chain, which then answers the 408.
TIMED_OUT = "fakeai.body_timed_out"
#: What a read that timed out gets for any later ``receive``: the body will not come.
_GONE = {"type": "http.disconnect"}


def body_timeout(seconds: float) -> ApiError:
    """The 408 of a body that stopped arriving; the connection closes after it."""
    return ApiError(
        408,
        f"The request body stopped arriving: no byte came for {seconds:g} seconds (--body-read-timeout).",
        code="request_timeout",
        headers={"connection": "close"},
    )


class BodyClock:
    """One worker's watch over the reads waiting for body bytes (see the module docs).

    ``waiting`` maps each awaited piece of a body (the server's future; :class:`BodyRead` and the Rust
    hot path register theirs the same way) to the ``time.monotonic()`` at which it was asked for. While
    the timer runs, the clock itself is in ``waiting`` (at infinity, never due), so a reader that finds
    ``waiting`` empty knows to :meth:`start` it, and one that does not pays nothing more.
    """

    __slots__ = ("_loop", "period", "timeout", "waiting")

    def __init__(self, timeout_s: float) -> None:
        self.timeout = timeout_s
        #: The timer's period: a piece is given up on ``timeout`` to ``timeout + period`` seconds after.
        self.period = min(1.0, timeout_s / 4)
        self.waiting: dict[Any, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def wrap(self, receive: Receive, expired: bool = False) -> BodyRead:
        """``receive`` of one request, timed while it waits for body bytes (``expired``: already given
        up on, so it reads nothing more)."""
        return BodyRead(receive, self, expired)

    def start(self) -> None:
        """Run the timer on the running loop (a no-op while it runs there)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self.waiting[self] = math.inf
            loop.call_later(self.period, self._beat, loop)

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:
            return  # a newer loop has its own timer
        waiting = self.waiting
        if len(waiting) <= 1:
            waiting.pop(self, None)
            self._loop = None
            return
        due = time.monotonic() - self.timeout
        for piece in [piece for piece, since in waiting.items() if since <= due]:
            del waiting[piece]
            cancel = getattr(piece, "cancel", None)  # a replayed message is ready at once: never due
            if cancel is not None:
                cancel()
        loop.call_later(self.period, self._beat, loop)


def given_up() -> bool:
    """Whether a ``CancelledError`` from an awaited piece of a body is the clock's doing: the clock
    cancels the piece, not the task (``Task.cancel()`` counts in ``cancelling()``)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


class BodyRead:
    """``receive`` of one request: each wait for a piece of the body is timed by the clock."""

    __slots__ = ("_clock", "_receive", "done", "expired")

    def __init__(self, receive: Receive, clock: BodyClock, expired: bool = False) -> None:
        self._receive, self._clock = receive, clock
        self.done, self.expired = False, expired

    def __call__(self) -> Any:
        if self.done:
            return self._receive()  # the body is read: the server's awaitable itself
        return self._read()

    async def _read(self) -> Message:
        if self.expired:
            return _GONE
        clock = self._clock
        waiting = clock.waiting
        if not waiting:
            clock.start()
        # the server's awaitable is a future the clock can cancel; a replayed message never waits
        piece = self._receive()
        waiting[piece] = time.monotonic()
        try:
            message = await piece
        except asyncio.CancelledError:
            if not given_up():
                raise
            self.expired = True
            raise body_timeout(clock.timeout) from None
        finally:
            waiting.pop(piece, None)
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.done = True
        return message
