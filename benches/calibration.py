"""Calibration of the engine model against measured serving curves.

    python benches/calibration.py PATH/nim_dli_sizing_dataset.csv [--plot FILE.png] [--fit]
        [--check-static PATH/trtllm_0_9_0_static_batch_dli.csv]

For every curve of the NVIDIA NIM sizing file (rows grouped by model, gpu, precision, tp, isl, osl;
``metric_stat == mean`` rows; TensorRT-LLM backend measured with GenAI-Perf), each concurrency level
is simulated with the same in-process API ``fakeai simulate`` calls (closed loop, ``isl`` in, ``osl``
out, clients behind the server's serial front end with a seeded turnaround) and measured as
GenAI-Perf measured the file (``fakeai simulate --measurement-interval 60000``: from the clients'
synchronised start, in perf_analyzer's 72 s time windows, every request that ended before its
windows stopped; see ``MEASUREMENT_INTERVAL``), and the absolute
percentage errors of TTFT, ITL and output tokens/s are printed per curve and overall (medians), with
the worst curves. A curve's points "up to its plateau" are those whose measured throughput is still
below 95 % of the curve's best, plus the first one reaching it: each of those must be within 25 %.

The deployment mimics the measured engine: TensorRT-LLM's inflight batching with its default
guaranteed-no-evict KV policy (``kv_policy = reserve``), max batch 256, 32,768 tokens per step, an
fp8 KV cache for the fp8 profiles (their capacity wall sits at twice fp16's concurrency).

``--fit`` searches the cost model's coefficients (coordinate descent in log space, deterministic) and
prints them for ``rust/fakeai_core/src/simulation/engine/cost.rs``; ``--only NAME ...`` limits the
search to those. ``--set NAME=VALUE ...`` overrides coefficients: the values simulated, or with
``--fit`` the search's start (e.g. ``--set eff_attn=0.35 --fit --only eff_attn``). After the
per-curve report the issue's headline curve (Llama-3-8B fp8 on one H100, 200/200) is printed point
by point, simulated against measured. ``--check-static`` is the
independent check of the step cost: decode step time against TensorRT-LLM 0.9.0 fixed-batch runs of
other models and GPUs (see :func:`check_static`). ``--plot`` draws the configurations in ``PLOTTED``.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import statistics
import sys
import time
from collections import defaultdict
from fractions import Fraction
from typing import Any

from fakeai import _core
from fakeai.simulate import WINDOWED_REQUESTS

MODELS = {
    "meta-llama3-8b-instruct": "meta-llama/Meta-Llama-3-8B-Instruct",
    "meta-llama3-70b-instruct": "meta-llama/Meta-Llama-3-70B-Instruct",
}
METRICS = ("ttft", "itl", "tps")
DEPLOYMENT = {
    "kv_policy": "reserve",
    "max_num_seqs": 256,
    "max_num_batched_tokens": 32768,
    "block_size": 64,
    "chunked_prefill": True,
}
PLATEAU = 0.95
# How the curves were measured: GenAI-Perf's --measurement-interval (seconds here). Each level's
# request count (the denominator of its mean input length, in the file's notes) over its request
# throughput puts its duration at 216, 288, ... 720 s: three to ten perf_analyzer windows of
# 1.2 x 60 s. So each level is simulated and measured the same way: from the start, in 72 s windows
# (rust/fakeai_core/src/simulation/engine/time_windows.rs).
MEASUREMENT_INTERVAL = 60.0
# How closely the windows had to agree: perf_analyzer's own 10 % (GenAI-Perf's later default is 999 %,
# --stability 9.99). On the 50 levels whose duration the file pins down (check_windows; most ran
# nine windows) the simulated stop is within one window of the measured for 37 at 10 %, for 7 at 999 %.
STABILITY = 0.1
HEADLINE = ("meta-llama3-8b-instruct", "H100_80GB_HBM3", "fp8", 1, 200, 200)
KV_CACHE = "auto"
# The configurations --plot draws: both models, both GPUs, every precision, TP 1-8 and each kind of
# prompt/output mix (the whole set is 72 curves; a smaller figure keeps the README light).
PLOTTED = {
    ("8b-instruct", "H100", "fp8", 1, 200, 200),
    ("8b-instruct", "H100", "fp16", 2, 200, 1000),
    ("8b-instruct", "A100", "fp16", 1, 2000, 200),
    ("8b-instruct", "H100", "fp8", 2, 7000, 1000),
    ("70b-instruct", "H100", "fp8", 4, 200, 200),
    ("70b-instruct", "H100", "fp16", 8, 2000, 2000),
    ("70b-instruct", "A100", "fp16", 4, 200, 2000),
    ("70b-instruct", "A100", "bf16", 8, 7000, 1000),
}


def load_curves(path: str) -> dict[tuple, list[dict[str, float]]]:
    curves: dict[tuple, dict[int, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["metric_stat"] != "mean" or not row["throughput_tok_s"]:
                continue
            key = (
                row["model"],
                row["gpu"],
                row["precision"],
                int(row["tp"]),
                int(row["isl"]),
                int(row["osl"]),
            )
            curves[key][int(row["concurrency"])].append(row)
    out = {}
    for key, levels in curves.items():
        points = []
        for c, rows in sorted(levels.items()):  # repeated runs of one level are averaged

            def mean(col: str, rows: list = rows) -> float:
                return statistics.fmean(float(r[col]) for r in rows)

            points.append(
                {
                    "c": c,
                    "ttft": mean("ttft_ms"),
                    "itl": mean("itl_ms"),
                    "tps": mean("throughput_tok_s"),
                    "duration": measured_duration(rows[0]),
                }
            )
        best = max(p["tps"] for p in points)
        reached = False
        for p in points:
            p["core"] = not reached
            reached = reached or p["tps"] >= PLATEAU * best
        out[key] = points
    return out


def measured_duration(row: dict[str, str]) -> float | None:
    """A level's measured duration in seconds, where the file pins it down: its request count (the
    denominator of the mean input length its notes give, e.g. 199.6577142857143 = 349,401 / 1,750)
    over its request throughput. The denominator may be a divisor of the true count, so the duration
    is known only when doubling it would pass the ten windows' 720 s (else None)."""
    m = re.search(r"measured mean input ([0-9.]+) / .*?request throughput ([0-9.e-]+) req/s", row["notes"])
    if not m or float(m.group(2)) <= 0:
        return None
    count = Fraction(m.group(1)).limit_denominator(20000).denominator
    duration = count / float(m.group(2))
    return duration if 2 * duration > 10 * 1.2 * MEASUREMENT_INTERVAL else None


def spec_of(key: tuple, coefficients: dict[str, float] | None = None) -> dict[str, Any]:
    model, gpu, precision, tp, _, _ = key
    spec = {"model": MODELS.get(model, model), "gpu": gpu, "precision": precision, "tp": tp, **DEPLOYMENT}
    # KV cache format of the measured engine (auto: fp8 for the fp8 profiles).
    spec["kv_cache_dtype"] = KV_CACHE
    if coefficients:
        spec["coefficients"] = coefficients
    return spec


def requests(c: int) -> int:
    """Requests per closed-loop level: what ``fakeai simulate`` runs by default."""
    return max(200, 10 * c)


def simulate(
    curves: dict[tuple, list[dict[str, float]]], coefficients: dict[str, float] | None = None
) -> None:
    """Fill each point's ``sim_*`` values."""
    for key, points in curves.items():
        spec = spec_of(key, coefficients)
        isl, osl = key[4], key[5]
        for p in points:
            c = p["c"]
            r = _core.simulate_closed_loop(
                spec, isl, osl, c, WINDOWED_REQUESTS, None, MEASUREMENT_INTERVAL, STABILITY
            )
            p["sim_ttft"], p["sim_itl"], p["sim_tps"] = (
                r["ttft_ms"]["mean"],
                r["itl_ms"]["mean"],
                r["output_tokens_per_s"],
            )
            p["sim_stop"] = r["simulated_s"]


def ape(p: dict[str, float], m: str) -> float:
    return abs(p[f"sim_{m}"] - p[m]) / p[m]


def objective(curves: dict[tuple, list[dict[str, float]]]) -> float:
    """Mean |log(simulated / measured)| (capped at log 3), points past the plateau at half weight."""
    total = weight = 0.0
    for points in curves.values():
        for p in points:
            w = 1.0 if p["core"] else 0.5
            for m in METRICS:
                total += w * min(abs(math.log(max(p[f"sim_{m}"], 1e-9) / p[m])), math.log(3))
                weight += w
    return total / weight


def report(curves: dict[tuple, list[dict[str, float]]], worst: int = 8) -> dict[str, float]:
    rows = []
    for key, points in curves.items():
        med = {m: statistics.median(ape(p, m) for p in points) for m in METRICS}
        core_max = max(ape(p, m) for p in points if p["core"] for m in METRICS)
        rows.append((key, med, core_max))
    print(f"{'curve':58} {'TTFT':>6} {'ITL':>6} {'tok/s':>6} {'max<=plateau':>12}")
    for key, med, core_max in rows:
        name = f"{key[0].replace('meta-llama3-', '')} {key[1][:4]} {key[2]} tp{key[3]} {key[4]}/{key[5]}"
        print(f"{name:58} {med['ttft']:6.1%} {med['itl']:6.1%} {med['tps']:6.1%} {core_max:12.1%}")
    every = [p for points in curves.values() for p in points]
    overall = {m: statistics.median(ape(p, m) for p in every) for m in METRICS}
    core = [p for p in every if p["core"]]
    within = sum(all(ape(p, m) <= 0.25 for m in METRICS) for p in core)
    print(
        f"\noverall median APE over {len(every)} points of {len(curves)} curves: "
        f"TTFT {overall['ttft']:.1%}, ITL {overall['itl']:.1%}, output tokens/s {overall['tps']:.1%}"
    )
    print(f"points up to each curve's plateau within 25% on all three: {within}/{len(core)}")
    for m in METRICS:
        print(f"  {m}: {sum(ape(p, m) <= 0.25 for p in core)}/{len(core)} within 25%")
    print("\nworst curves (largest error up to the plateau):")
    for key, med, core_max in sorted(rows, key=lambda r: -r[2])[:worst]:
        print(
            f"  {' '.join(map(str, key))}: {core_max:.0%} (medians TTFT {med['ttft']:.0%}, ITL {med['itl']:.0%}, tok/s {med['tps']:.0%})"
        )
    return overall


def check_windows(curves: dict[tuple, list[dict[str, float]]]) -> None:
    """How far the simulated measurement's stop is from the measured one, in windows, on the levels
    whose duration the file pins down (:func:`measured_duration`): evidence for the stability rule."""
    window = 1.2 * MEASUREMENT_INTERVAL
    gaps = []
    for points in curves.values():
        for p in points:
            if p["duration"]:
                measured = p["duration"] / window
                measured = round(measured) if abs(measured - round(measured)) < 0.05 else math.ceil(measured)
                gaps.append(abs(measured - round(p["sim_stop"] / window)))
    if gaps:
        print(
            f"\nmeasurement windows: on the {len(gaps)} levels whose duration the file pins down, the simulated "
            f"stop (stability {STABILITY:g}) is the measured window for {sum(g == 0 for g in gaps)} and within "
            f"one for {sum(g <= 1 for g in gaps)}"
        )


def headline(curves: dict[tuple, list[dict[str, float]]]) -> None:
    """The issue's headline curve (Llama-3-8B fp8, one H100, 200/200): simulated against measured."""
    points = curves.get(HEADLINE)
    if not points:
        return
    print(f"\n{' '.join(map(str, HEADLINE))}: simulated / measured")
    print(f"{'c':>5} {'TTFT ms':>15} {'ITL ms':>13} {'tok/s':>15}")
    for p in points:
        print(
            f"{p['c']:5d} {p['sim_ttft']:7.1f}/{p['ttft']:<7.1f} {p['sim_itl']:6.2f}/{p['itl']:<6.2f} "
            f"{p['sim_tps']:7.0f}/{p['tps']:<7.0f}"
        )


def fit(
    curves: dict[tuple, list[dict[str, float]]],
    rounds: int,
    only: list[str] | None = None,
    start: dict[str, float] | None = None,
) -> dict[str, float]:
    info = _core.deployment_info(spec_of(next(iter(curves)), start))
    coef = dict(info["coefficients"])
    bounds = {
        "eff_bw": (0.3, 1.0),
        "eff_flops": (0.1, 1.0),
        "mmha_rate": (2.0, 120.0),
        "xqa_rate": (0.5, 30.0),
        "attn_cycles": (1.0, 100.0),
        "overhead": (1e-5, 2e-2),
        "layer_overhead": (1e-7, 2e-4),
        "seq_overhead": (1e-7, 2e-4),
        "allreduce": (1e-7, 2e-4),
        "allreduce_hop": (1e-7, 1e-4),
        "quant_layer_overhead": (1e-7, 1e-4),
        "quant_flops": (0.3, 1.0),
        "reserved_bytes": (1e9, 2e10),
        "frontend": (1e-5, 1e-2),
        "client_gap": (1e-5, 2e-2),
        "eff_attn": (0.1, 2.0),
        "eff_link": (0.1, 2.0),
        "prefill_layer_overhead": (1e-6, 4e-4),
        "zen2_host": (0.5, 5.0),
    }
    if only:
        unknown = sorted(set(only) - set(bounds))
        if unknown:
            sys.exit(f"--only: not a fitted coefficient: {', '.join(unknown)} (fitted: {', '.join(bounds)})")
        bounds = {name: bounds[name] for name in only}

    def score(c: dict[str, float]) -> float:
        simulate(curves, c)
        return objective(curves)

    best = score(coef)
    print(f"start: {best:.4f} {coef}", flush=True)
    step = 0.4
    for r in range(rounds):
        improved = False
        for name in bounds:
            for direction in (1, -1):
                lo, hi = bounds[name]
                trial = dict(coef, **{name: min(hi, max(lo, coef[name] * math.exp(direction * step)))})
                if trial[name] == coef[name]:
                    continue
                s = score(trial)
                if s < best - 1e-5:
                    best, coef, improved = s, trial, True
                    print(f"round {r} {name}={trial[name]:.4g}: {best:.4f}", flush=True)
                    break
        if not improved:
            step /= 2
            if step < 0.02:
                break
    print("fitted:", {k: float(f"{v:.4g}") for k, v in coef.items()})
    return coef


def plot(curves: dict[tuple, list[dict[str, float]]], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install matplotlib")
    keys = [
        k for k in curves if (k[0].removeprefix("meta-llama3-"), k[1][:4], k[2], k[3], k[4], k[5]) in PLOTTED
    ] or list(curves)
    fig, axes = plt.subplots(len(keys), 3, figsize=(12, 2.2 * len(keys)))
    for row, key in enumerate(keys):
        points = curves[key]
        cs = [p["c"] for p in points]
        for col, (m, label) in enumerate((("ttft", "TTFT ms"), ("itl", "ITL ms"), ("tps", "output tok/s"))):
            ax = axes[row][col]
            ax.plot(cs, [p[m] for p in points], "o-", color="black", label="measured", ms=3)
            ax.plot(cs, [p[f"sim_{m}"] for p in points], "s--", color="tab:orange", label="fakeai", ms=3)
            ax.set_xscale("log")
            if m == "ttft":
                ax.set_yscale("log")
            ax.set_title(
                f"{key[0].replace('meta-llama3-', '')} {key[1][:4]} {key[2]} tp{key[3]} {key[4]}/{key[5]}: {label}",
                fontsize=7,
            )
            ax.tick_params(labelsize=6)
            if row == 0 and col == 0:
                ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=64)
    print(f"plot written to {path}")


STATIC_MODELS = {
    "LLaMA v2 7B": "llama-2-7b",
    "LLaMA v2 13B": "llama-2-13b",
    "LLaMA v2 70B": "llama-2-70b",
    "Mistral 7B": "mistral-7b",
    "GPTJ 6B": "gpt-j-6b",
    "Falcon 180B": "falcon-180b",
}
# Mixtral 8x7B is left out: those runs used fake weights, whose router sends every token to the same
# experts (the measured step barely grows from batch 1 to 32, where real routing touches all eight).
STATIC_GPUS = {"A100-SXM4-80GB": "A100", "H100 80GB HBM3": "H100", "H200 141GB HBM3": "H200", "L40S": "L40S"}


def check_static(path: str, coefficients: dict[str, float] | None = None, worst: int = 8) -> float:
    """Decode step time against TensorRT-LLM 0.9.0's fixed-batch runs: ``batch`` requests of ``isl``
    in / ``osl`` out start together on one engine (one prefill step, then ``osl - 1`` decode steps of
    the whole batch); the simulated mean decode step is compared with the measured ``tpot_ms``.
    The benchmark is TensorRT-LLM's C++ runtime without a serving layer, so the serving stack's
    per-sequence cost (``seq_overhead``) is 0 here; every other coefficient is the fitted one. Runs
    whose GPU the hardware table lacks (H100 NVL, GH200, L40) are skipped, and so are batches whose
    KV cache the simulated deployment cannot hold (the measured engine sized its own cache)."""
    groups: dict[tuple, list[tuple[int, int, int, float, float]]] = defaultdict(list)
    skipped = 0
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        model, gpu = STATIC_MODELS.get(row["model"]), STATIC_GPUS.get(row["gpu"])
        if not (model and gpu and row["tpot_ms"]):
            skipped += 1
            continue
        precision = "fp8" if row["precision"] == "FP8" else "fp16"
        batch, isl, osl, tp = int(row["concurrency"]), int(row["isl"]), int(row["osl"]), int(row["tp"])
        spec = {
            "model": model,
            "gpu": gpu,
            "precision": precision,
            "tp": tp,
            "kv_policy": "reserve",
            "max_num_seqs": batch,
            "max_num_batched_tokens": batch * isl,
            "block_size": 64,
            "gpu_memory_utilization": 0.95,
        }
        spec["coefficients"] = {**(coefficients or {}), "seq_overhead": 0.0}
        try:
            info = _core.deployment_info(spec)
        except _core.InvalidInput:
            skipped += 1
            continue
        if info["kv_tokens"] < batch * (isl + osl + 64):
            skipped += 1
            continue
        engine = _core.EngineModel(spec)
        for _ in range(batch):
            last = engine.submit(0.0, isl, osl)
        engine.run_until(1e9)
        times = engine.token_times(last)
        # token_times[0] is the prefill step's end (the first token), token_times[1] the first
        # decode step's.
        sim = (times[-1] - times[1]) / (osl - 2) * 1e3
        groups[(row["model"], gpu, precision, tp)].append((batch, isl, osl, float(row["tpot_ms"]), sim))
    errors = {k: [abs(s - m) / m for *_, m, s in v] for k, v in groups.items()}
    print(f"{'static batch (TRT-LLM 0.9.0)':44} {'runs':>5} {'median':>7} {'max':>7}")
    for k, e in errors.items():
        print(f"{' '.join(map(str, k)):44} {len(e):5d} {statistics.median(e):7.1%} {max(e):7.1%}")
    every = [x for e in errors.values() for x in e]
    overall = statistics.median(every)
    print(
        f"\ndecode step (tpot) median APE over {len(every)} runs of {len(groups)} configurations: {overall:.1%}; "
        f"within 25%: {sum(x <= 0.25 for x in every)}/{len(every)} ({skipped} rows skipped)"
    )
    print("worst runs:")
    flat = [(abs(s - m) / m, k, b, i, o, m, s) for k, v in groups.items() for b, i, o, m, s in v]
    for err, k, b, i, o, m, s in sorted(flat, reverse=True)[:worst]:
        print(
            f"  {' '.join(map(str, k))} batch {b} {i}/{o}: measured {m:.2f} ms, simulated {s:.2f} ms ({err:.0%})"
        )
    return overall


def main() -> None:
    global STABILITY
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", help="nim_dli_sizing_dataset.csv")
    ap.add_argument("--plot", metavar="FILE.png")
    ap.add_argument("--fit", action="store_true", help="search the coefficients first")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--only", nargs="+", metavar="NAME", help="with --fit: search only these coefficients")
    ap.add_argument(
        "--check-static",
        metavar="FILE",
        help="also check the decode step cost against trtllm_0_9_0_static_batch_dli.csv",
    )
    ap.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="simulate with these coefficient values (with --fit: start from them)",
    )
    ap.add_argument(
        "--stability",
        type=float,
        default=STABILITY,
        help="how closely 3 windows must agree (a fraction: 0.1, perf_analyzer's 10 %%; 9.99, GenAI-Perf's 999 %%)",
    )
    ap.add_argument("--kv-policy", choices=("reserve", "on-demand"), default=DEPLOYMENT["kv_policy"])
    ap.add_argument("--max-num-batched-tokens", type=int, default=DEPLOYMENT["max_num_batched_tokens"])
    args = ap.parse_args()
    STABILITY = args.stability
    DEPLOYMENT["kv_policy"] = args.kv_policy
    DEPLOYMENT["max_num_batched_tokens"] = args.max_num_batched_tokens
    curves = load_curves(args.csv)
    try:
        start = {k: float(v) for k, v in (a.split("=", 1) for a in args.set)}
    except ValueError:
        sys.exit(f"--set takes NAME=VALUE pairs, not {' '.join(args.set)}")
    coef = fit(curves, args.rounds, args.only, start) if args.fit else (start or None)
    t = time.perf_counter()
    simulate(curves, coef)
    print(f"simulated {sum(map(len, curves.values()))} levels in {time.perf_counter() - t:.1f} s\n")
    report(curves)
    check_windows(curves)
    headline(curves)
    if args.plot:
        plot(curves, args.plot)
    if args.check_static:
        print()
        check_static(args.check_static, coef)


if __name__ == "__main__":
    main()
