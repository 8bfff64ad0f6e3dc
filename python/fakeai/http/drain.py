"""Answering before the request body is read, without breaking the client's kept-alive connection.

An answer can come before the body is read: a 401, 429 or injected error from the gateway, a 404 for
an unknown object, a 413. The server (hyper) then cannot reuse the connection unless the rest of the
body is already in its buffer, and it has been seen to answer ``keep-alive`` and close anyway, so
the client's next request on that connection fails. Even a small body may not be buffered yet: a
client that writes the head and the body separately (aiohttp does, so AIPerf does) sends the body a
moment after the head, and a connection answered and closed meanwhile makes that write fail, so the
client sees an error ("Can not write request body") instead of the answer. So, for every request
with a body, the response start waits while the rest of the body is read and dropped, up to
:data:`DRAIN_LIMIT` bytes and :data:`DRAIN_SECONDS` (each wait for a piece ends at
``--body-read-timeout``); past either,
the response says ``connection: close`` and the connection ends after it. A body already in the
server's buffer is read at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

from fakeai.errors import ApiError
from fakeai.http.asgi import Message, Send
from fakeai.http.body_timeout import BodyRead

#: Most a body is read to keep its connection alive, bytes, and the longest that reading may take.
DRAIN_LIMIT = 1024 * 1024
DRAIN_SECONDS = 5.0
CLOSE = (b"connection", b"close")


class Drain:
    """``send`` of one request whose body is read through ``read`` (its :class:`BodyRead`, which knows
    when the body is all read): a response start before that reads the rest first, or makes that
    response close the connection. Every other message goes straight to the server's ``send``, as
    its awaitable (no coroutine per message: a stream sends one per token)."""

    __slots__ = ("_read", "_send", "length")

    def __init__(self, read: BodyRead, send: Send, length: int) -> None:
        self._read, self._send, self.length = read, send, length

    def send(self, message: Message) -> Awaitable[None]:
        if self._read.done or message["type"] != "http.response.start":
            return self._send(message)
        return self._start(message)

    async def _start(self, message: Message) -> None:
        drained = self.length <= DRAIN_LIMIT and await self._drain()
        headers = message.get("headers", ())
        if not drained and CLOSE not in headers:  # a 408 of a stalled body closes already
            message["headers"] = [*headers, CLOSE]
        await self._send(message)

    async def _drain(self) -> bool:
        """Read and drop the rest of the body: True once all of it came; False past
        :data:`DRAIN_LIMIT` bytes or :data:`DRAIN_SECONDS`, or when the client leaves or its body stops
        arriving (a 408 of the body clock, :mod:`fakeai.http.body_timeout`, times each wait). It runs
        in the request's own task: ``asyncio.wait_for``'s task, its exception and the exception it
        re-raises form a reference cycle that kept the server's ``receive``, and so the connection,
        open after the answer until the garbage collector ran."""
        deadline = time.monotonic() + DRAIN_SECONDS
        size = 0
        try:
            while not self._read.done:
                message = await self._read()
                if message["type"] != "http.request":
                    return False  # the client left
                size += len(message.get("body", b""))
                if size > DRAIN_LIMIT or time.monotonic() > deadline:
                    return False
        except ApiError:  # the body stopped arriving
            return False
        return True
