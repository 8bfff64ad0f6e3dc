"""Live against offline: does ``fakeai server`` deliver the engine model's TTFT and ITL on the wall clock?

    python benches/live_vs_simulate.py                          # concurrency 1, 5, 25; --workers 1 and 2
    python benches/live_vs_simulate.py --concurrency 1 5 --duration 4

For Llama-3-8B on one H100 in fp8 (the engine's default deployment of that model), 200 prompt and 200
output tokens: closed-loop streaming clients (asyncio + httpx, one connection each, every request with
a prompt that differs from its first token, so no prefix-cache hit) keep C streams in flight against
``fakeai server --workers 1`` and ``--workers 2`` for ``--duration`` seconds per level (the clients
start together, as in the offline closed loop, unless ``--stagger`` spaces them); TTFT is the
time to the first content chunk, ITL a request's (last - first chunk) / (chunks - 1), both averaged over
the requests each client sent after its warm-up rounds (the 3 that ``fakeai simulate`` leaves out:
the steady state, not the start-up clump). The same levels run through the engine offline
(``_core.simulate_closed_loop``, what ``fakeai simulate`` prints) with the same client model as
these clients show: each level's offline turnaround is lognormal (``cv``: the live turnaround's
standard deviation over its mean) with the live clients' mean turnaround (last chunk to
next send) plus the round trip the floor shows as ``client_gap`` and their spread as
``client_sigma``; ``fakeai simulate``'s own figures with the fitted coefficients are printed below
the table. Both sides charge the same front end: one lane per replica, each request holding it for a
service time drawn in arrival order (exponential, fitted mean ``frontend``), so the live server and
the offline loop draw the same times for the same sequence of requests. ``ttft rp`` is what the
server's own logic gives the same closed loop on a virtual clock (its ``SharedEngine``, each
request's first and last token settled as the pacer does, no HTTP, no noise): it tells the server's
logic from the machine's timing. Closed-loop clients with equal output lengths start in one wave
whose prefills share steps; the random front-end time dissolves it over the first rounds on both
sides (before it was random, the offline loop kept its waves while the live clients lost theirs to
the machine's noise, and live TTFT at C=25 was half the offline one).

The server runs on CPU 0 and the clients on the other CPUs (``taskset``; ``--no-pin`` turns this
off), so that the clients' own work does not delay the server's timers. The client and granian cost
time too, so the bare floor (``benches/bare_stream.py``: a prebuilt
64-chunk stream at TTFT 50 ms / ITL 10 ms paced by fakeai's ticker, nothing else) is measured with the
same client at the same concurrency in the same run; what it shows above 50 ms / 10 ms is subtracted
from fakeai's figures before the comparison. Printed per level: live (raw and floor-corrected) and
simulated TTFT and ITL, and the corrected relative error.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fakeai import _core
from fakeai.engine.deployment import spec
from fakeai.runtime.process import free_port, spawn, stop
from fakeai.settings import Settings

HERE = Path(__file__).resolve().parent
MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
ISL, OSL = 200, 200
FLOOR_TTFT, FLOOR_ITL = 0.050, 0.010


def prompt(i: int, words: int) -> list[dict]:
    return [{"role": "user", "content": f"{i} " + "word " * words}]


async def one(http: httpx.AsyncClient, i: int, words: int) -> tuple[float, list[float], int]:
    """(start, content-chunk arrival times, prompt tokens) of one streamed request."""
    payload = {
        "model": MODEL,
        "messages": prompt(i, words),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    times: list[float] = []
    prompt_tokens = 0
    async with http.stream(
        "POST", "/v1/chat/completions", json=payload, headers={"x-fakeai-output-tokens": str(OSL)}
    ) as r:
        async for line in r.aiter_lines():
            if '"content"' in line and '"delta":{' in line:
                times.append(time.perf_counter())
            if '"usage":{' in line:
                prompt_tokens = json.loads(line[6:])["usage"]["prompt_tokens"]
    return start, times, prompt_tokens


def level(
    port: int, concurrency: int, duration: float, words: int, stagger: float, warmup: int
) -> dict[str, float]:
    """One closed-loop level; each client's first ``warmup`` requests (rounds) are not measured."""
    turnarounds: list[float] = []

    async def run() -> list[tuple[float, list[float], int]]:
        out: list[tuple[float, list[float], int]] = []
        begin = time.perf_counter()
        counter = iter(range(10**9))
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as http:

            async def client(k: int) -> None:
                await asyncio.sleep(k * stagger)
                last = None
                rounds = 0
                while time.perf_counter() - begin < duration:
                    result = await one(http, next(counter), words)
                    if last is not None:
                        turnarounds.append(result[0] - last)
                    if rounds >= warmup:
                        out.append(result)
                    rounds += 1
                    last = result[1][-1] if result[1] else None

            await asyncio.gather(*(client(k) for k in range(concurrency)))
        return out

    results = asyncio.run(run())
    ttft = [ts[0] - s for s, ts, _ in results if ts]
    itl = [(ts[-1] - ts[0]) / (len(ts) - 1) for _, ts, _ in results if len(ts) > 1]
    prompt_tokens = next((p for _, _, p in results if p), 0)
    return {
        "ttft": statistics.mean(ttft),
        "itl": statistics.mean(itl),
        "turnaround": statistics.mean(turnarounds) if turnarounds else 0.0,
        "turnaround_sd": statistics.pstdev(turnarounds) if turnarounds else 0.0,
        "requests": len(results),
        "prompt_tokens": prompt_tokens,
    }


def replay(deployment: dict, isl: int, c: int, gap: float, sigma: float, requests: int, warmup: int) -> float:
    """Mean TTFT (s) the live server gives C closed-loop clients on a virtual clock: the server's
    ``SharedEngine`` alone, each request's forecast first and last token settled with the engine when
    due (as the server's pacer does), clients resending a seeded turnaround after the last token
    (lognormal of mean ``gap`` and log-spread ``sigma``, as ``fakeai simulate``'s clients), no HTTP
    and no machine noise; requests measured as ``fakeai simulate`` measures them (after ``warmup``,
    before the last round)."""
    rng = random.Random(1)
    mu = math.log(gap) - sigma * sigma / 2

    def turnaround() -> float:
        return rng.lognormvariate(mu, sigma)

    # (time, order, client, kind, state): kind "send", "first" or "last", in time order.
    events: list[tuple[float, int, int, str, tuple]] = []
    order = iter(range(10**9))
    for k in range(c):
        heapq.heappush(events, (100.0 + turnaround(), next(order), k, "send", ()))
    ttft: list[float] = []
    sent = 0
    with tempfile.TemporaryDirectory() as tmp:
        engine = _core.SharedEngine(str(Path(tmp) / "engine"), deployment, 4096)
        while events:
            t, _, k, kind, state = heapq.heappop(events)
            if kind == "send":
                if sent == requests:
                    continue
                ticket, offsets = engine.submit(t, isl, OSL)
                measured = warmup <= sent < requests - c
                sent += 1
                state = (ticket, t, t + offsets[0], t + offsets[-1], measured)
                heapq.heappush(events, (state[2], next(order), k, "first", state))
                continue
            ticket, send, first, last, measured = state
            answer, at = engine.settle(ticket, t, kind == "last")
            if answer == "later":
                heapq.heappush(events, (max(at, t) + 1e-9, next(order), k, kind, state))
                continue
            at = t if answer == "gone" else max(at, t)
            if kind == "first":
                if measured:
                    ttft.append(at - send)
                state = (ticket, send, at, last + at - first, measured)
                # The pacer asks for the last token at once; the engine names when to ask again.
                heapq.heappush(events, (at, next(order), k, "last", state))
            else:
                heapq.heappush(events, (at + turnaround(), next(order), k, "send", ()))
    return statistics.mean(ttft)


def serve(kind: str, workers: int, pin: bool) -> tuple[int, object]:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 5, 25])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of load per level (default 6)")
    parser.add_argument("--words", type=int, default=193, help="prompt words (~200 prompt tokens)")
    parser.add_argument(
        "--stagger",
        type=float,
        default=0.0,
        help="seconds between client starts (default 0: all at once, as the offline closed loop)",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the server to CPU 0 and the clients to the other CPUs (taskset)",
    )
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    args.pin = args.pin and len(cpus) > 1 and shutil.which("taskset") is not None
    if args.pin:
        os.sched_setaffinity(0, set(cpus[1:]))

    deployment = spec(Settings(gpu="H100", precision="fp8", tp=1), MODEL)
    # The warm-up rounds `fakeai simulate` leaves out (one client: its warm-up requests).
    warmup = _core.simulate_closed_loop(deployment, ISL, OSL, 1, 200)["warmup_requests"]
    floor = {}
    port, proc = serve("floor", 1, args.pin)
    try:
        for c in args.concurrency:
            floor[c] = level(port, c, args.duration, args.words, args.stagger, warmup)
    finally:
        stop(proc)
    live: dict[tuple[int, int], dict[str, float]] = {}
    for workers in args.workers:
        port, proc = serve("fakeai", workers, args.pin)
        try:
            for c in args.concurrency:
                live[workers, c] = level(port, c, args.duration, args.words, args.stagger, warmup)
        finally:
            stop(proc)
    isl = next(v["prompt_tokens"] for v in live.values() if v["prompt_tokens"])

    def simulate(c: int, gap: float, sigma: float) -> dict:
        dep = {**deployment, "coefficients": {"client_gap": gap, "client_sigma": sigma}}
        return _core.simulate_closed_loop(dep, isl, OSL, c, max(200, 10 * c))

    print(f"# {MODEL} on 1 x H100 fp8, {isl} prompt / {OSL} output tokens; ms; floor = bare_stream overhead")
    print(
        f"{'workers':>7} {'C':>3} {'n':>4} {'gap':>5} {'cv':>4} {'ttft live':>9} {'floor':>6} {'ttft corr':>9} "
        f"{'ttft sim':>8} {'err':>6} {'ttft rp':>7} {'itl live':>8} {'floor':>6} {'itl corr':>8} {'itl sim':>7} {'err':>6}"
    )
    for (workers, c), v in live.items():
        f = floor[c]
        ttft_floor, itl_floor = f["ttft"] - FLOOR_TTFT, f["itl"] - FLOOR_ITL
        ttft, itl = v["ttft"] - ttft_floor, v["itl"] - itl_floor
        # The offline clients turn around as these did: the gap from the last token leaving the
        # engine to the next request entering the server is the client's own turnaround plus the
        # round trip the floor shows.
        # and spread as theirs (lognormal: sigma from the coefficient of variation).
        gap = max(v["turnaround"] + ttft_floor, 1e-6)
        cv = v["turnaround_sd"] / gap
        sigma = math.sqrt(math.log1p(cv * cv))
        sim = simulate(c, gap, sigma)
        s_ttft, s_itl = sim["ttft_ms"]["mean"] / 1e3, sim["itl_ms"]["mean"] / 1e3
        n = max(200, 10 * c)
        fc = replay(deployment, isl, c, gap, sigma, n, sim["warmup_requests"])
        print(
            f"{workers:7d} {c:3d} {v['requests']:4d} {gap * 1e3:5.2f} {cv:4.1f} {v['ttft'] * 1e3:9.2f} "
            f"{ttft_floor * 1e3:6.2f} {ttft * 1e3:9.2f} {s_ttft * 1e3:8.2f} {ttft / s_ttft - 1:+6.1%} {fc * 1e3:7.2f} "
            f"{v['itl'] * 1e3:8.2f} {itl_floor * 1e3:6.2f} {itl * 1e3:8.2f} {s_itl * 1e3:7.2f} "
            f"{itl / s_itl - 1:+6.1%}"
        )
    print("# fitted client gap (GenAI-Perf against NIM), what `fakeai simulate` uses:")
    for c in args.concurrency:
        fitted = _core.simulate_closed_loop(deployment, isl, OSL, c, max(200, 10 * c))
        print(f"#   C={c}: ttft {fitted['ttft_ms']['mean']:.2f} ms, itl {fitted['itl_ms']['mean']:.2f} ms")


if __name__ == "__main__":
    main()
