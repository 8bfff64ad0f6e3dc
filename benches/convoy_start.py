"""Does the closed loop's convoy depend on how the clients start? TTFT by rounds, from spread starts.

    python benches/convoy_start.py                      # Llama-3-8B fp8, one H100, 200/200, 25 clients
    python benches/convoy_start.py --spread 0 0.05 0.2 1.4 --seeds 1 2 3 --rounds 40

``fakeai simulate``'s closed loop starts every client at once, as GenAI-Perf does. This script runs
the same loop on :class:`fakeai._core.EngineModel` (the live server's and ``fakeai simulate``'s
engine) with each client's first request drawn uniformly over ``--spread`` seconds instead: the
clients' turnaround is the fitted lognormal (``client_gap``, ``client_sigma``) and the front end one
serial queue of exponential service (mean ``frontend``), as in ``workload.rs``, with its own seeded
draws (so spread 0 is that loop up to the draws, not bit for bit). Printed per start spread and seed:
the mean TTFT (ms) of the requests sent in rounds 3-8, 9-18 and 19 to ``--rounds``.

This is the evidence behind docs/engine-model.md's *Live against offline*: at 25 clients the loop has
two regimes, a convoy that a synchronized start falls into and keeps, and a mixed state that a
start spread over a fraction of a request's latency falls into; which one a run measures depends on
how its first requests arrive, not on the engine.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics

from fakeai import _core
from fakeai.engine.deployment import spec
from fakeai.settings import Settings

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
#: How far the loop advances the engine between looks at finished requests (s): under the
#: turnaround's least value, so no client is served late.
TICK = 2.5e-4
RANGES = ((3, 9), (9, 19))


def closed_loop(deployment: dict, isl: int, osl: int, clients: int, rounds: int, spread: float, seed: int):
    """TTFT (s) by the round its request was sent in, for every request of a closed loop."""
    coefficients = _core.deployment_info(deployment)["coefficients"]
    gap, sigma, frontend = coefficients["client_gap"], coefficients["client_sigma"], coefficients["frontend"]
    rng = random.Random(seed)
    engine = _core.EngineModel(deployment)
    send = [rng.uniform(0.0, spread) for _ in range(clients)]
    done = [0] * clients
    in_flight: dict[int, tuple[int, float]] = {}
    lane = now = 0.0
    ttft: list[tuple[int, float]] = []
    while min(done) < rounds:
        now += TICK
        engine.run_until(now)
        for client, (rid, wrote) in list(in_flight.items()):
            times = engine.token_times(rid)
            if len(times) == osl and times[-1] <= now:
                ttft.append((done[client], times[0] - wrote))
                done[client] += 1
                del in_flight[client]
                send[client] = times[-1] + gap * math.exp(sigma * rng.gauss(0.0, 1.0) - sigma * sigma / 2)
        for client in sorted(range(clients), key=send.__getitem__):
            if send[client] > now or done[client] >= rounds:
                continue
            lane = max(lane, send[client]) + rng.expovariate(1.0 / frontend)
            at = max(lane, now)
            engine.run_until(at)
            in_flight[client] = (engine.submit(at, isl, osl), send[client])
            send[client] = math.inf
    return ttft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--isl", type=int, default=200)
    parser.add_argument("--osl", type=int, default=200)
    parser.add_argument("--spread", type=float, nargs="+", default=[0.0, 0.05, 0.2, 1.4], help="seconds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    deployment = spec(Settings(gpu="H100", precision="fp8", tp=1), MODEL)
    ranges = (*RANGES, (RANGES[-1][1], args.rounds))
    print(f"# {MODEL}, one H100 fp8, {args.isl}/{args.osl}, {args.concurrency} clients: mean TTFT (ms)")
    print(f"{'spread s':>8} {'seed':>4} " + " ".join(f"{f'rounds {a}-{b - 1}':>13}" for a, b in ranges))
    for spread in args.spread:
        for seed in args.seeds:
            ttft = closed_loop(deployment, args.isl, args.osl, args.concurrency, args.rounds, spread, seed)
            means = [statistics.mean(t for r, t in ttft if a <= r < b) * 1e3 for a, b in ranges]
            print(f"{spread:8.2f} {seed:4d} " + " ".join(f"{m:13.1f}" for m in means))


if __name__ == "__main__":
    main()
