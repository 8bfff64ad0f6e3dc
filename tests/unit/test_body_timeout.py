"""The body clock (:mod:`fakeai.http.body_timeout`) on its own loop, with ``receive`` callables that
hand out futures as granian's does."""

from __future__ import annotations

import asyncio

import pytest

from fakeai.errors import ApiError
from fakeai.http.body_timeout import BodyClock


def server_receive(messages: list[dict], gaps: list[float]):
    """A ``receive`` whose n-th call returns a future resolved with ``messages[n]`` after ``gaps[n]``
    seconds (never, past the list)."""
    calls = iter(range(10**6))

    def receive() -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        n = next(calls)
        if n < len(messages):
            loop.call_later(gaps[n], lambda: future.done() or future.set_result(messages[n]))
        return future

    return receive


def piece(body: bytes, more: bool) -> dict:
    return {"type": "http.request", "body": body, "more_body": more}


def test_a_body_that_stops_arriving_is_a_408_and_then_reads_as_gone():
    async def run() -> None:
        clock = BodyClock(0.2)
        read = clock.wrap(server_receive([piece(b"ab", True)], [0.0]))
        assert (await read())["body"] == b"ab"
        started = asyncio.get_running_loop().time()
        with pytest.raises(ApiError) as raised:
            await read()
        waited = asyncio.get_running_loop().time() - started
        assert raised.value.status == 408 and raised.value.code == "request_timeout"
        assert raised.value.headers == {"connection": "close"}
        assert 0.2 <= waited < 0.6, waited
        assert (await read())["type"] == "http.disconnect"  # a drain after the 408 reads nothing more
        assert list(clock.waiting) in ([], [clock])  # the timed-out piece is no longer watched

    asyncio.run(run())


def test_a_slow_body_whose_pieces_keep_coming_is_read_whole():
    async def run() -> None:
        clock = BodyClock(0.2)
        messages = [piece(b"a", True), piece(b"b", True), piece(b"c", True), piece(b"", False)]
        inner = server_receive(messages, [0.12, 0.12, 0.12, 0.12])
        read = clock.wrap(inner)
        body = b""
        while True:
            message = await read()
            body += message["body"]
            if not message["more_body"]:
                break
        assert body == b"abc"
        # once the body is read, receive is the server's own awaitable, not a coroutine around it
        assert isinstance(read(), asyncio.Future)

    asyncio.run(run())


def test_cancelling_the_request_is_not_taken_for_a_timeout():
    async def run() -> None:
        clock = BodyClock(5.0)
        read = clock.wrap(server_receive([], []))
        task = asyncio.ensure_future(read())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert list(clock.waiting) == [clock]  # only the running timer's own entry is left

    asyncio.run(run())


def test_a_read_given_up_by_the_hot_path_reads_nothing():
    async def run() -> None:
        read = BodyClock(5.0).wrap(server_receive([piece(b"x", False)], [0.0]), expired=True)
        assert (await read())["type"] == "http.disconnect"

    asyncio.run(run())
