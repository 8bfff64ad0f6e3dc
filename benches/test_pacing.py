"""Event-loop cost of pacing many concurrent streams: the one-timer ticker against a sleep per step.

    pytest benches/test_pacing.py --benchmark-enable --benchmark-group-by=group

1,000 streams of 64 steps (TTFT 50 ms, ITL 10 ms) are paced on a uvloop event loop into a send that
completes at once (as granian's does), without HTTP: the figure is the CPU time (``process_time``) the
pacing itself costs. The baseline is fakeai's previous design, one ``asyncio.sleep`` to each step's
deadline per stream; :class:`fakeai.engine.pacing.Ticker` parks streams in 1 ms slots under one loop
timer and writes every due step from its callback. Both runs check that every step was delivered and
that the median gap is the configured ITL.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time

import pytest

from fakeai.engine.pacing import Ticker

STREAMS, STEPS, TTFT, ITL = 1000, 64, 0.050, 0.010
OFFSETS = [TTFT + k * ITL for k in range(STEPS)]
STEP = b"data: {}\n\n"


class Done:
    """What granian's ``send`` returns: an awaitable that is already complete."""

    def __await__(self):
        return iter(())


DONE = Done()


def recorder(times: list[float]):
    def send(message: dict) -> Done:
        times.append(time.monotonic())
        return DONE

    return send


async def sleep_per_step(send, start: float) -> None:
    for offset in OFFSETS:
        delay = start + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await send({"type": "http.response.body", "body": STEP, "more_body": True})


async def ticker_stream(ticker: Ticker, send, start: float, gone: asyncio.Future) -> None:
    assert await ticker.play(send, [STEP] * STEPS, OFFSETS, start, gone)


def run(kind: str) -> list[list[float]]:
    import uvloop

    async def main() -> list[list[float]]:
        loop = asyncio.get_running_loop()
        ticker, gone = Ticker(), loop.create_future()
        times: list[list[float]] = [[] for _ in range(STREAMS)]
        start = time.monotonic()
        if kind == "ticker":
            jobs = [ticker_stream(ticker, recorder(t), start, gone) for t in times]
        else:
            jobs = [sleep_per_step(recorder(t), start) for t in times]
        await asyncio.gather(*jobs)
        return times

    return uvloop.run(main())


def check(times: list[list[float]]) -> float:
    assert all(len(t) == STEPS for t in times)
    return statistics.median(b - a for t in times for a, b in itertools.pairwise(t))


@pytest.mark.benchmark(group="pace 1,000 streams x 64 steps (CPU s)", timer=time.process_time)
def test_pacing_ticker(benchmark):
    # Seven rounds after a warm-up one: with three, an unchanged build's median moved by up to 17 %.
    times = benchmark.pedantic(run, args=("ticker",), rounds=7, iterations=1, warmup_rounds=1)
    benchmark.extra_info["median_gap_ms"] = check(times) * 1000


@pytest.mark.benchmark(group="pace 1,000 streams x 64 steps (CPU s)", timer=time.process_time)
@pytest.mark.reference
def test_pacing_sleep_per_step(benchmark):
    times = benchmark.pedantic(run, args=("sleep",), rounds=3, iterations=1)
    benchmark.extra_info["median_gap_ms"] = check(times) * 1000
