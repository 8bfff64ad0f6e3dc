"""How much of the measured TTFT is a closed-loop convoy: the NIM curves between two bounds.

    python benches/convoy.py PATH/nim_dli_sizing_dataset.csv [--max-concurrency 150]

GenAI-Perf's clients (``benches/calibration.py`` simulates them) all start together and send their
next request as soon as a stream ends. Requests prefilled in one step then finish in one step, and
their next requests are prefilled together again: a *convoy*, whose TTFT is the prefill of every
client's prompt plus a decode step, whatever else the engine does. Each measured level (same
curves, same deployment as ``calibration.py``) is set between two simulations of the engine model:

- ``desync``: no convoy at all: Poisson arrivals at the level's measured request rate (output
  tokens/s over the output length), so a request shares its prefill only with what happens to
  arrive with it;
- ``convoy``: the closed loop with no front-end time (``frontend`` = 0), so nothing but the
  clients' own turnaround spreads a round's requests apart: the convoy holds.

Printed per concurrency: the median ratio of each bound to the measured TTFT, how many levels each
bound puts within 25 %, and the convoy fraction ``f = (measured - desync) / (convoy - desync)``
(median and quartiles: 1 = a full convoy, 0 = none). This is the evidence behind docs/engine-model.md's
*What the measured TTFT is made of*: up to ten clients the measured TTFT is a full convoy on every
configuration, which no per-request cost that ignores the arrivals' timing can reproduce.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from calibration import load_curves, requests, spec_of
from fakeai import _core


def bounds(key: tuple, point: dict[str, float]) -> tuple[float, float]:
    """(desync, convoy) mean TTFT of one measured level, ms."""
    isl, osl, c = key[4], key[5], point["c"]
    rate = point["tps"] / osl
    desync = _core.simulate_poisson(spec_of(key), isl, osl, rate, requests(c))["ttft_ms"]["mean"]
    convoy = _core.simulate_closed_loop(spec_of(key, {"frontend": 0.0}), isl, osl, c, requests(c))
    return desync, convoy["ttft_ms"]["mean"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", help="nim_dli_sizing_dataset.csv")
    ap.add_argument("--max-concurrency", type=int, default=150)
    args = ap.parse_args()
    rows: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for key, points in load_curves(args.csv).items():
        for p in points:
            if 2 <= p["c"] <= args.max_concurrency:
                rows[p["c"]].append((p["ttft"], *bounds(key, p)))
    print(
        f"{'C':>4} {'levels':>6} {'desync/meas':>11} {'within25':>8} {'convoy/meas':>11} {'within25':>8}"
        f" {'f median':>8} {'f q25-q75':>10}"
    )
    for c, levels in sorted(rows.items()):
        d = [desync / m for m, desync, _ in levels]
        v = [convoy / m for m, _, convoy in levels]
        f = [(m - desync) / (convoy - desync) for m, desync, convoy in levels if convoy > desync]
        q = statistics.quantiles(f, n=4) if len(f) > 1 else [f[0], f[0], f[0]]
        print(
            f"{c:4d} {len(levels):6d} {statistics.median(d):11.2f} {sum(abs(x - 1) <= 0.25 for x in d):8d}"
            f" {statistics.median(v):11.2f} {sum(abs(x - 1) <= 0.25 for x in v):8d}"
            f" {statistics.median(f):8.2f} {q[0]:5.2f}-{q[2]:.2f}"
        )


if __name__ == "__main__":
    main()
