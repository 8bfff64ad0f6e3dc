from __future__ import annotations

import asyncio
import math
import time

import pytest

from fakeai.engine.pacing import EARLY, MAX_LEAD, RESOLUTION, Ticker


class _Recording:
    """A ticker's core that records each fire's ``(due, now)``; everything else is the core's."""

    def __init__(self, core: object) -> None:
        self.core, self.fires = core, []

    def fire(self, due: float, now: float) -> list:
        self.fires.append((due, now))
        return self.core.fire(due, now)

    def __getattr__(self, name: str) -> object:
        return getattr(self.core, name)

    def __len__(self) -> int:
        return len(self.core)


def _slot(deadline: float) -> int:
    """The slot the core parks ``deadline`` in (the nearest)."""
    return math.floor(deadline / RESOLUTION + 0.5)


def test_ticker_wakes_each_waiter_at_its_deadline_from_one_timer():
    """100 waiters on 20 distinct deadlines, from one timer: it is always armed for the earliest slot
    parked, to go off at that slot's time less the lead; each fire takes whole slots (so there are at
    most 20); each waiter wakes with the first fire that reached its slot (never a later one); and a
    fire takes slots at most ``EARLY + lead`` (lead <= ``MAX_LEAD``) ahead of the time it runs. Checked
    against the timer and the fires themselves rather than the wall clock after waking, so a loaded
    machine that runs the loop late cannot fail it (it did: the lead grows on a late loop, and the
    waiters then woke up to ``EARLY + MAX_LEAD`` ahead, past the old one-slot bound)."""

    async def main() -> tuple[list, list, list]:
        ticker = Ticker()
        core = ticker.core = _Recording(ticker.core)
        loop = asyncio.get_running_loop()
        arms: list[tuple[int, int, float, float]] = []
        arm = ticker._arm

        def recorded_arm(slot: int) -> None:
            # the timer goes off at the slot's time less the lead, as computed between t0 and t1
            earliest, t0 = core.earliest(), loop.time()
            arm(slot)
            late = ticker.handle.when() - (slot * RESOLUTION - ticker.lead)
            arms.append((slot, earliest, late, loop.time() - t0))

        ticker._arm = recorded_arm
        start = time.monotonic()
        deadlines = [start + 0.3 + 0.005 * k for k in range(20)] * 5
        woken: list[tuple[float, int]] = []  # (deadline, fires run when it woke)

        async def wait(d: float) -> None:
            await ticker.until(d)
            woken.append((d, len(core.fires)))

        waiters = [asyncio.ensure_future(wait(d)) for d in deadlines]
        await asyncio.sleep(0)
        assert len(core) == 100 and ticker.handle is not None  # one armed timer
        await asyncio.gather(*waiters)
        assert ticker.handle is None and len(core) == 0  # idle: nothing armed
        return woken, core.fires, arms

    woken, fires, arms = asyncio.run(main())
    assert len(woken) == 100
    assert arms and all(slot == earliest for slot, earliest, _, _ in arms)
    assert all(0 <= late <= bound for _, _, late, bound in arms), arms
    assert len(fires) <= 20
    assert all(due - now <= EARLY + MAX_LEAD + 1e-9 for due, now in fires)
    for deadline, fired in woken:
        taken = [k for k, (due, _) in enumerate(fires) if _slot(deadline) <= math.floor(due / RESOLUTION)]
        assert taken and taken[0] == fired - 1, (deadline, fired, fires)


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

        a = ticker.play(send_a, [b"a1", b"a2"], [0.02, 0.80], start, gone)
        b = ticker.play(send_b, [b"b1", b"b2"], [0.40, 0.41], start, gone)
        assert await asyncio.gather(a, b) == [True, True]
        return armed_after_first, round((start + 0.40) / RESOLUTION), b_written[0] - (start + 0.40)

    armed, b1_slot, b1_lateness = asyncio.run(main())
    # b1 is far enough after a1 that a1 fires alone even on a loaded machine.
    assert armed == [b1_slot]  # armed for b1 at 400 ms, not for a2 at 800 ms
    assert b1_lateness < 0.3


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


#: How late a write may come on a loaded machine (the event loop's own lateness, not the pacer's).
LATE = 0.02


def on_time(at: float, due: float) -> bool:
    """Whether a write at ``at`` is the one due at ``due``: never earlier than the ticker's release
    ahead of a slot (``EARLY`` plus its lead, at most ``MAX_LEAD``), at most ``LATE`` after it."""
    return due - (EARLY + MAX_LEAD) - 1e-4 <= at <= due + LATE


def _engine_wave(tmp_path) -> tuple:
    """Two identical shared engines with a long prefill in flight, then ``a`` (300 tokens, 20 out)
    and, after ``a``'s forecast was made, ``b`` (4000 tokens) joining ``a``'s prefill step. Returns
    ``(engine, ticket of a, a's forecast token times, a's first and last token as the engine
    delivers them)``: an engine is deterministic once nothing else arrives, so the twin, asked on a
    virtual clock, tells what the ticker must settle on with the first."""
    from fakeai import _core
    from fakeai.engine.deployment import spec
    from fakeai.settings import Settings

    deployment = spec(Settings(gpu="H100", precision="fp8", tp=1), "meta-llama/Llama-3.1-8B-Instruct")
    now = time.monotonic() + 0.05
    twins = []
    for name in ("played", "twin"):
        engine = _core.SharedEngine(str(tmp_path / name), deployment, 64)
        engine.submit(now, 6000, 5)
        ticket, offsets = engine.submit(now + 0.004, 300, 20)
        engine.submit(now + 0.006, 4000, 20)
        twins.append((engine, ticket))
    (engine, ticket), (twin, twin_ticket) = twins
    forecast = [now + 0.004 + o for o in offsets]

    def settled(at: float, last: bool) -> float:
        while True:
            answer, t = twin.settle(twin_ticket, at, last)
            if answer == "at":
                return t
            assert answer == "later" and t >= at
            at = t + 1e-9

    first = settled(forecast[0], False)
    # The ticker asks for the last token a twentieth of the decode time early.
    last = settled(forecast[-1] - 0.05 * (forecast[-1] - first), True)
    # b's prefill makes a's step longer than a's forecast knew, by far more than a busy machine's
    # lateness: a write near the settled time cannot be one near the forecast.
    assert first > forecast[0] + 2 * LATE, (first, forecast[0])
    assert abs(last - forecast[-1]) > 2 * LATE, (last, forecast[-1])
    return engine, ticket, forecast, first, last


def test_an_engine_timed_stream_moves_with_the_settled_first_and_last_token(tmp_path):
    engine, ticket, forecast, first, last = _engine_wave(tmp_path)
    writes: list[tuple[float, bytes]] = []

    async def send(message: dict) -> None:
        writes.append((time.monotonic(), message["body"]))

    async def main() -> bool:
        ticker, gone = Ticker(), asyncio.get_running_loop().create_future()
        steps = [str(k).encode() for k in range(20)]
        start = forecast[0]
        offsets = [t - start for t in forecast]
        return await ticker.play(send, steps, offsets, start, gone, (engine, ticket, None))

    assert asyncio.run(main()) is True
    assert b"".join(body for _, body in writes) == b"".join(str(k).encode() for k in range(20))
    assert on_time(writes[0][0], first), writes[0][0] - first
    assert on_time(writes[-1][0], last), writes[-1][0] - last
    # The steps in between moved with the first token.
    assert writes[1][0] > forecast[1] + 0.001


def test_an_engine_timed_answer_waits_for_the_settled_last_token(tmp_path):
    engine, ticket, forecast, first, last = _engine_wave(tmp_path)

    async def receive() -> dict:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def main() -> float:
        ticker = Ticker()
        assert await ticker.until_or_gone(forecast[-1], receive, (engine, ticket, None), forecast[0])
        return time.monotonic()

    woke = asyncio.run(main())
    assert on_time(woke, last), woke - last


def test_a_send_that_keeps_its_messages_gets_each_write_intact():
    """The writes of one fire share one message dict while the ``send`` keeps no reference to it (as
    granian does); a ``send`` that keeps its messages gets a new dict per write, never changed after
    it was sent. Both see every stream's bytes, in order, with ``more_body`` false on the last write
    only (a late loop may join due steps into one write)."""

    async def main() -> tuple[dict[int, list[dict]], dict[int, list[tuple[bytes, bool]]]]:
        loop = asyncio.get_running_loop()
        ticker, gone, start = Ticker(), loop.create_future(), time.monotonic()
        kept: dict[int, list[dict]] = {k: [] for k in range(1, 10, 2)}
        read: dict[int, list[tuple[bytes, bool]]] = {k: [] for k in range(0, 10, 2)}

        def sender(k: int):
            async def keeping(message: dict) -> None:
                kept[k].append(message)

            async def reading(message: dict) -> None:
                read[k].append((message["body"], message["more_body"]))

            return keeping if k % 2 else reading

        offsets = [0.01, 0.02, 0.03]
        plays = [
            ticker.play(sender(k), [b"%d-%d;" % (k, i) for i in range(3)], offsets, start, gone)
            for k in range(10)
        ]
        assert await asyncio.gather(*plays) == [True] * 10
        gone.cancel()
        return kept, read

    kept, read = asyncio.run(main())
    ids = [id(m) for messages in kept.values() for m in messages]
    assert len(set(ids)) == len(ids)
    writes = {k: [(m["body"], m["more_body"]) for m in messages] for k, messages in kept.items()}
    assert all(len(m) == 3 and m["type"] == "http.response.body" for ms in kept.values() for m in ms)
    for k, sent in (writes | read).items():
        assert b"".join(body for body, _ in sent) == b"%d-0;%d-1;%d-2;" % (k, k, k)
        assert [more for _, more in sent] == [True] * (len(sent) - 1) + [False]


def test_steps_that_send_nothing_write_nothing_but_keep_their_time():
    """A reasoning model that hides its reasoning streams empty steps while it thinks: no empty body
    goes to ``send``, and the first step with bytes still waits for its own deadline."""
    sent: list[tuple[float, bytes, bool]] = []

    async def send(message: dict) -> None:
        sent.append((time.monotonic(), message["body"], message["more_body"]))

    async def main() -> tuple[bool, float]:
        ticker, gone = Ticker(), asyncio.get_running_loop().create_future()
        steps = [b"", b"", b"", b"a", b"", b"b"]
        start = time.monotonic()
        offsets = [0.0, 0.01, 0.02, 0.05, 0.06, 0.07]
        return await ticker.play(send, steps, offsets, start, gone), start

    ok, start = asyncio.run(main())
    assert ok is True
    assert [(body, more) for _, body, more in sent] == [(b"a", True), (b"b", False)]
    assert sent[0][0] - start >= 0.05 - EARLY - MAX_LEAD
