from __future__ import annotations

import asyncio
import time

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
        assert len(ticker.slots) == 20 and ticker.handle is not None  # one armed timer
        await asyncio.gather(*waiters)
        assert ticker.handle is None and not ticker.slots  # idle: nothing armed
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
