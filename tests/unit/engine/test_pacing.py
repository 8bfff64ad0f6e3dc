from __future__ import annotations

import asyncio
import time

import pytest

from fakeai.engine.pacing import RESOLUTION, Ticker


def test_ticker_wakes_each_waiter_at_its_deadline_from_one_timer():
    async def main() -> list[float]:
        ticker = Ticker()
        start = time.monotonic()
        deadlines = [start + 0.1 + 0.005 * k for k in range(20)] * 5  # 100 waiters, 20 distinct slots
        lateness: list[float] = []

        async def wait(d: float) -> None:
            await ticker.until(d)
            lateness.append(time.monotonic() - d)

        waiters = [asyncio.ensure_future(wait(d)) for d in deadlines]
        await asyncio.sleep(0)
        assert len(ticker.core) == 100 and ticker.handle is not None  # one armed timer
        await asyncio.gather(*waiters)
        assert ticker.handle is None and len(ticker.core) == 0  # idle: nothing armed
        return lateness

    lateness = asyncio.run(main())
    assert len(lateness) == 100
    assert min(lateness) >= -RESOLUTION  # never more than a slot early
    assert sorted(lateness)[50] < 0.01


def test_past_deadlines_return_at_once():
    async def main() -> None:
        ticker = Ticker()
        await ticker.until(time.monotonic() - 1)
        assert ticker.handle is None

    asyncio.run(main())


def _stream_run(sends: list) -> list:
    """Play one 3-step stream per ``send`` on one ticker; each stream's result (or exception)."""

    async def main() -> list:
        loop = asyncio.get_running_loop()
        ticker, gone, start = Ticker(), loop.create_future(), time.monotonic()
        steps, offsets = [b"a", b"b", b"c"], [0.01, 0.02, 0.03]
        plays = [ticker.play(send, steps, offsets, start, gone) for send in sends]
        return await asyncio.gather(*plays, return_exceptions=True)

    return asyncio.run(main())


def test_streams_survive_slow_and_failing_sends():
    written: list[bytes] = []

    async def slow_send(message: dict) -> None:  # a server applying back-pressure
        await asyncio.sleep(0.005)
        written.append(message["body"])

    def broken_send(message: dict) -> None:
        raise RuntimeError("boom")

    def gone_send(message: dict) -> None:
        raise OSError("client went away")

    results = _stream_run([slow_send, broken_send, gone_send])
    assert results[0] is True and written == [b"a", b"b", b"c"]
    assert isinstance(results[1], RuntimeError)
    assert results[2] is False


def test_a_step_written_while_firing_does_not_postpone_earlier_slots():
    """A stream parked for its next step from inside the timer callback must leave the timer armed
    for the earliest waiting slot, not for that later step."""

    async def main() -> tuple[list[int | None], int, float]:
        loop = asyncio.get_running_loop()
        ticker, gone, start = Ticker(), loop.create_future(), time.monotonic()
        armed_after_first: list[int | None] = []
        b_written: list[float] = []

        async def send_a(message: dict) -> None:
            if message["body"] == b"a1":
                loop.call_soon(lambda: armed_after_first.append(ticker.armed))

        async def send_b(message: dict) -> None:
            b_written.append(time.monotonic())

        a = ticker.play(send_a, [b"a1", b"a2"], [0.02, 0.30], start, gone)
        b = ticker.play(send_b, [b"b1", b"b2"], [0.05, 0.06], start, gone)
        assert await asyncio.gather(a, b) == [True, True]
        return armed_after_first, round((start + 0.05) / RESOLUTION), b_written[0] - (start + 0.05)

    armed, b1_slot, b1_lateness = asyncio.run(main())
    assert armed == [b1_slot]  # armed for b1 at 50 ms, not for a2 at 300 ms
    assert b1_lateness < 0.2


def test_a_stream_whose_client_left_stops_and_reports_it():
    async def main() -> tuple[list, list[bytes], list[bytes], int]:
        loop = asyncio.get_running_loop()
        ticker, start = Ticker(), time.monotonic()
        gone, stays = loop.create_future(), loop.create_future()
        left: list[bytes] = []
        kept: list[bytes] = []

        async def send_left(message: dict) -> None:
            left.append(message["body"])
            if message["body"] == b"1":
                loop.call_soon(gone.set_result, {"type": "http.disconnect"})

        async def send_kept(message: dict) -> None:
            kept.append(message["body"])

        steps, offsets = [b"1", b"2", b"3"], [0.01, 0.03, 0.05]
        results = await asyncio.gather(
            ticker.play(send_left, steps, offsets, start, gone),
            ticker.play(send_kept, steps, offsets, start, stays),
        )
        stays.cancel()  # as send_stream does when its stream ends: a stale cancel is harmless
        await asyncio.sleep(0)
        return results, left, kept, ticker.core.streams

    results, left, kept, live = asyncio.run(main())
    assert results == [False, True]
    assert left == [b"1"] and kept == [b"1", b"2", b"3"]
    assert live == 0


def test_pacer_rejects_a_stream_without_one_offset_per_step():
    from fakeai import _core

    pacer = _core.Pacer(RESOLUTION)
    for steps, offsets in (([b"a"], [0.1, 0.2]), ([], [])):
        with pytest.raises(ValueError, match="one offset per step"):
            pacer.play(print, steps, offsets, 0.0, None)
