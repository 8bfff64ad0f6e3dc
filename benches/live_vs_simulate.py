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
import itertools
import json
import math
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

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


class Sent(NamedTuple):
    """One streamed request as its client saw it (seconds from the level's start)."""

    client: int
    round: int
    send: float
    first: float
    last: float
    chunks: int
    prompt_tokens: int


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


def level(port: int, concurrency: int, duration: float, words: int, stagger: float) -> list[Sent]:
    """One closed-loop level: every request the clients sent, in send order."""

    async def run() -> list[Sent]:
        out: list[Sent] = []
        begin = time.perf_counter()
        counter = iter(range(10**9))
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as http:

            async def client(k: int) -> None:
                await asyncio.sleep(k * stagger)
                rounds = 0
                while time.perf_counter() - begin < duration:
                    start, ts, tokens = await one(http, next(counter), words)
                    if ts:
                        out.append(
                            Sent(k, rounds, start - begin, ts[0] - begin, ts[-1] - begin, len(ts), tokens)
                        )
                    rounds += 1

            await asyncio.gather(*(client(k) for k in range(concurrency)))
        return sorted(out, key=lambda r: r.send)

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


def replay(deployment: dict, isl: int, sent: list[Sent], warmup: int, save: Path | None) -> dict[str, float]:
    """The offline engine (``fakeai simulate``'s, :class:`fakeai._core.EngineModel`) given the
    arrivals the live clients produced: each request enters the server's front end at its send
    (:func:`fakeai._core.frontend_arrivals`, the same lanes and draws as the live server) and the
    engine when that is done with it; TTFT from the send, measured as the live requests are. With
    ``save``, the engine arrivals are written there as a Mooncake JSONL trace (``fakeai simulate
    --trace`` replays them, without the front end)."""
    arrivals = _core.frontend_arrivals(deployment, [r.send for r in sent])
    engine = _core.EngineModel(deployment)
    ids = []
    for at in arrivals:
        engine.run_until(at)
        ids.append(engine.submit(at, isl, OSL))
    engine.run_until(math.inf)
    ttft, itl = [], []
    for r, i, keep in zip(sent, ids, measured(sent, warmup), strict=True):
        times = engine.token_times(i)
        if keep:
            ttft.append(times[0] - r.send)
            itl.append((times[-1] - times[0]) / (len(times) - 1))
    if save is not None:
        t0 = arrivals[0]
        rows = [
            {"timestamp": round((at - t0) * 1e3, 3), "input_length": isl, "output_length": OSL}
            for at in arrivals
        ]
        save.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return stats(ttft, itl)


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


def err(a: float, b: float) -> str:
    return f"{a / b - 1:+6.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 5, 25])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per level (default 20)")
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
    parser.add_argument(
        "--save-traces",
        type=Path,
        metavar="DIR",
        help="write each live level's engine arrivals there (JSONL)",
    )
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    args.pin = args.pin and len(cpus) > 1 and shutil.which("taskset") is not None
    if args.pin:
        os.sched_setaffinity(0, set(cpus[1:]))
    if args.save_traces is not None:
        args.save_traces.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    deployment = spec(Settings(gpu="H100", precision="fp8", tp=1), MODEL)
    # The warm-up rounds `fakeai simulate` leaves out (one client: its warm-up requests).
    warmup = _core.simulate_closed_loop(deployment, ISL, OSL, 1, 200)["warmup_requests"]
    floor: dict[int, dict[str, float]] = {}
    port, proc = serve("floor", 1, args.pin)
    try:
        for c in args.concurrency:
            # The floor's first round opens the connections; it has no engine to warm up.
            floor[c] = observed(level(port, c, args.duration, args.words, args.stagger), 1)
    finally:
        stop(proc)
    live: dict[tuple[int, int], list[Sent]] = {}
    for workers in args.workers:
        port, proc = serve("fakeai", workers, args.pin)
        try:
            for c in args.concurrency:
                live[workers, c] = level(port, c, args.duration, args.words, args.stagger)
        finally:
            stop(proc)
    load_after = os.getloadavg()
    seen = {key: observed(sent, warmup) for key, sent in live.items()}
    isl = next(v["prompt_tokens"] for v in seen.values() if v["prompt_tokens"])

    print(f"# {MODEL} on 1 x H100 fp8, {isl} prompt / {OSL} output tokens, {args.duration:g} s per level; ms")
    print(
        f"# load average (1/5/15 min) before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)} on {len(os.sched_getaffinity(0)) + args.pin} CPUs"
    )
    head = (
        f"{'stat':>9} {'live':>7} {'floor':>6} {'corr':>7} {'closed':>7} {'err':>6} {'replay':>7} {'err':>6}"
    )
    print(f"{'workers':>7} {'C':>3} {'sent':>5} {'n':>4} {'gap':>5} {'cv':>4} {head}")
    for (workers, c), v in seen.items():
        f = floor[c]
        # The offline clients turn around as these did: from the last token leaving the engine to
        # the next request entering the server is the clients' own turnaround plus the round trip
        # the floor shows; their spread as these clients' (lognormal, sigma from the coefficient
        # of variation).
        gap = max(v["turnaround"] + f["ttft"] - FLOOR_TTFT, 1e-6)
        cv = v["turnaround_sd"] / gap
        sigma = math.sqrt(math.log1p(cv * cv))
        dep = {**deployment, "coefficients": {"client_gap": gap, "client_sigma": sigma}}
        sim = _core.simulate_closed_loop(dep, isl, OSL, c, v["sent"])
        save = args.save_traces / f"live_w{workers}_c{c}.jsonl" if args.save_traces else None
        rp = replay(deployment, isl, live[workers, c], warmup, save)
        for stat, label, nominal, closed in (
            ("ttft", "ttft mean", FLOOR_TTFT, sim["ttft_ms"]["mean"] / 1e3),
            ("ttft_p50", "ttft p50", FLOOR_TTFT, sim["ttft_ms"]["p50"] / 1e3),
            ("itl", "itl mean", FLOOR_ITL, sim["itl_ms"]["mean"] / 1e3),
            ("itl_p50", "itl p50", FLOOR_ITL, sim["itl_ms"]["p50"] / 1e3),
        ):
            corr = v[stat] - (f[stat] - nominal)
            prefix = (
                f"{workers:7d} {c:3d} {v['sent']:5d} {v['measured']:4d} {gap * 1e3:5.2f} {cv:4.1f}"
                if stat == "ttft"
                else " " * 32
            )
            print(
                f"{prefix} {label:>9} {v[stat] * 1e3:7.2f} {(f[stat] - nominal) * 1e3:6.2f} {corr * 1e3:7.2f} "
                f"{closed * 1e3:7.2f} {err(corr, closed)} {rp[stat] * 1e3:7.2f} {err(corr, rp[stat])}"
            )
    print("# `fakeai simulate` with its fitted client gap (GenAI-Perf against NIM), --requests as sent live:")
    for c in args.concurrency:
        n = max(v["sent"] for (_, cc), v in seen.items() if cc == c)
        fitted = _core.simulate_closed_loop(deployment, isl, OSL, c, n)
        print(
            f"#   C={c} --requests {n}: ttft mean {fitted['ttft_ms']['mean']:.2f} p50 {fitted['ttft_ms']['p50']:.2f}, "
            f"itl mean {fitted['itl_ms']['mean']:.2f} p50 {fitted['itl_ms']['p50']:.2f}"
        )


if __name__ == "__main__":
    main()
