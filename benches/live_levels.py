"""The live side of ``benches/live_vs_simulate.py``: a server (``fakeai server`` or the bare floor)
and one closed-loop level against it, and what the level measured.

- :func:`serve` starts either server with ``--workers W`` (pinned to CPU 0 with ``pin``);
- :func:`level` keeps C streaming clients (:mod:`live_clients`) in flight for ``duration`` seconds
  and returns every request they sent (:class:`Sent`) and, against fakeai, the server's own TTFT
  after the warm-up rounds (:class:`Server`, read from its ``/metrics``);
- :func:`measured` is ``fakeai simulate``'s rule for which requests count, :func:`observed` the
  level's figures by that rule (:func:`stats`) and the clients' turnaround.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

import httpx

from fakeai.runtime.process import free_port, spawn
from live_clients import MODEL, Raw, stream_httpx

HERE = Path(__file__).resolve().parent
#: Request numbers, each prompt's first word: one count for the whole run, so that no request of a
#: later level repeats an earlier level's prompt on the same server (a repeated prompt is a
#: prefix-cache hit, whose cheap prefill changes the level: docs/engine-model.md, *Live against offline*).
PROMPTS = itertools.count()


class Sent(NamedTuple):
    """One streamed request as its client saw it (seconds from the level's start)."""

    client: int
    round: int
    send: float
    #: When its bytes were written to the socket (what the server receives next; ``send`` is
    #: earlier by however long the busy client took to get there).
    wrote: float
    first: float
    last: float
    chunks: int
    prompt_tokens: int


class Server(NamedTuple):
    """The server's own TTFT (its ``/metrics``: arrival to the first token the engine settled) of
    the requests whose first token came after ``since`` (seconds from the level's start: when every
    client had begun its first measured round): how many, and their mean (seconds)."""

    since: float
    count: int
    ttft: float


def serve(kind: str, workers: int, pin: bool) -> tuple[int, object]:
    """Start the bare floor (``kind`` "floor": ``benches/bare_stream.py``) or ``fakeai server``
    (Llama-3-8B's deployment: one H100, fp8) with ``workers`` granian workers: its port and process."""
    port = free_port()
    if kind == "floor":
        cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port)]
        cmd += ["--workers", str(workers), "--log-level", "warning", "bare_stream:app"]
    else:
        cmd = [sys.executable, "-m", "fakeai", "server", "--port", str(port), "--workers", str(workers)]
        cmd += ["--gpu", "H100", "--precision", "fp8", "--tp", "1", "--log-level", "warning"]
    if pin:  # the server (all its workers) on CPU 0, the clients on the others
        cmd = ["taskset", "-c", "0", *cmd]
    proc = spawn(cmd, port, {}, cwd=HERE)
    time.sleep(0.5)
    return port, proc


async def server_ttft(port: int) -> tuple[int, float]:
    """``(count, sum)`` of the server's TTFT histogram for the model."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        ttft = (await http.get("/metrics")).json()["models"][MODEL]["latency_seconds"]["ttft"]
    return ttft["count"], ttft["mean"] * ttft["count"]


def level(
    port: int,
    concurrency: int,
    duration: float,
    words: int,
    stagger: float,
    warmup: int | None = None,
    raw: bool = False,
) -> tuple[list[Sent], Server | None]:
    """One closed-loop level: every request the clients sent, in send order, and (with ``warmup``,
    against fakeai) the server's own TTFT after the warm-up rounds. ``raw``: the clients are
    :class:`~live_clients.Raw` connections instead of httpx."""

    async def run() -> tuple[list[Sent], Server | None]:
        out: list[Sent] = []
        begin = time.perf_counter()
        warm = asyncio.Event()
        started = [0]
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as http:

            async def client(k: int) -> None:
                await asyncio.sleep(k * stagger)
                rounds = 0
                conn = Raw(port) if raw else None
                try:
                    while time.perf_counter() - begin < duration:
                        if rounds == warmup:
                            started[0] += 1
                            if started[0] == concurrency:
                                warm.set()
                        i = next(PROMPTS)
                        start, wrote, ts, tokens = await (
                            conn.one(i, words) if conn else stream_httpx(http, i, words)
                        )
                        if ts:
                            times = (start - begin, wrote - begin, ts[0] - begin, ts[-1] - begin)
                            out.append(Sent(k, rounds, *times, len(ts), tokens))
                        rounds += 1
                finally:
                    if conn is not None:
                        await conn.close()

            async def mark() -> tuple[float, int, float] | None:
                if warmup is None:
                    return None
                await warm.wait()
                return (time.perf_counter() - begin, *await server_ttft(port))

            marked = asyncio.create_task(mark())
            await asyncio.gather(*(client(k) for k in range(concurrency)))
            server = None
            if warm.is_set():
                since, count, total = await marked
                after = await server_ttft(port)
                server = Server(since, after[0] - count, (after[1] - total) / max(after[0] - count, 1))
            else:
                marked.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await marked
        return sorted(out, key=lambda r: r.send), server

    return asyncio.run(run())


def measured(sent: list[Sent], warmup: int) -> list[bool]:
    """Which requests count, by the rule ``fakeai simulate``'s closed loop applies to its rounds:
    not a client's first ``warmup`` rounds, nor its last request (sent while other clients had
    stopped); a client with fewer than ``warmup`` + 2 rounds is measured from its second, and with
    fewer than 3 to its end."""
    rounds: dict[int, int] = {}
    for r in sent:
        rounds[r.client] = max(rounds.get(r.client, 0), r.round + 1)

    def counts(r: Sent) -> bool:
        n = rounds[r.client]
        end = n - 1 if n >= 3 else n
        start = warmup if n >= warmup + 2 else 1
        return min(start, end - 1) <= r.round < end

    return [counts(r) for r in sent]


def stats(ttft: list[float], itl: list[float]) -> dict[str, float]:
    """Mean and median TTFT and ITL (seconds)."""
    return {
        "ttft": statistics.mean(ttft),
        "ttft_p50": statistics.median(ttft),
        "itl": statistics.mean(itl),
        "itl_p50": statistics.median(itl),
    }


def observed(sent: list[Sent], warmup: int) -> dict[str, float]:
    """The live level's measured figures, its size and the clients' turnaround (last chunk to
    the client's next send: mean and standard deviation)."""
    keep = measured(sent, warmup)
    rows = [r for r, k in zip(sent, keep, strict=True) if k]
    by_client: dict[int, list[Sent]] = {}
    for r in sent:
        by_client.setdefault(r.client, []).append(r)
    turnarounds = [b.send - a.last for rs in by_client.values() for a, b in itertools.pairwise(rs)]
    return {
        **stats(
            [r.first - r.send for r in rows],
            [(r.last - r.first) / (r.chunks - 1) for r in rows if r.chunks > 1],
        ),
        "measured": len(rows),
        "sent": len(sent),
        "turnaround": statistics.mean(turnarounds) if turnarounds else 0.0,
        "turnaround_sd": statistics.pstdev(turnarounds) if turnarounds else 0.0,
        "prompt_tokens": next((r.prompt_tokens for r in sent if r.prompt_tokens), 0),
    }
