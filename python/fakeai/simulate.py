"""``fakeai simulate``: the engine model on a virtual clock, no HTTP.

One run simulates a deployment (see :mod:`fakeai.engine.deployment`: the server's own deployment
options, from flags, ``FAKEAI_*`` variables and the ``--config`` scenario file) under load levels and prints, per
level, what GenAI-Perf would report: TTFT, ITL and request latency (mean, p50, p99, ms), output
tokens/s, requests/s and preemptions::

    fakeai simulate --model meta-llama/Meta-Llama-3-8B-Instruct --gpu H100 --precision fp8 --tp 1 \\
        --isl 200 --osl 200 --concurrency 1 10 50 100 250 --format table

Load is closed-loop clients (``--concurrency``), Poisson arrivals (``--rate``, requests/s) or a
Mooncake-style JSONL trace (``--trace``: ``timestamp`` ms, ``input_length``, ``output_length``,
optional ``hash_ids`` of 512-token prompt blocks, which drive each replica's prefix cache). The whole
run is one Rust call per level; bad input ends with one line on stderr and exit status 2, and a closed
standard output (``| head -3``) ends the command quietly with status 141 (:mod:`fakeai.runtime.output`).
The deployment options are the server's; of them, ``--max-waiting-queue-length`` is taken but not
simulated (every request waits for a slot, none is refused), and the help says so (:data:`HELP`).

What is measured is the steady state a load test measures: ``--requests N`` requests are sent per
level; a closed loop's clients all start together, so its first three rounds (3 x C requests, when N
is at least 5 x C; else the first round) are warm-up, as GenAI-Perf's and AIPerf's warm-up requests,
and its last round (the last C, sent while other clients had stopped) is not measured either;
Poisson arrivals leave their first tenth out. A trace is measured whole. A closed loop given fewer
than 3 x C requests (C with ``--measurement-interval``) would measure nothing: that is a usage error.

``--measurement-interval MS`` measures a closed loop as GenAI-Perf (on perf_analyzer) does instead,
to compare with numbers it produced: from the start, no warm-up, in windows of 1.2 x MS, stopping at
the first three windows that agree on throughput and latency within ``--stability-percentage``
(GenAI-Perf's 999 by default: three windows in a row in which requests ended; at most ten), over every
request that ended by then (JSON: ``measured_s``, the last window's end). A level whose requests
outlast a few windows then measures mostly its first rounds, start-up queue included
(``rust/fakeai_core/src/simulation/engine/time_windows.rs``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import time
from typing import Any

from fakeai.engine import deployment
from fakeai.settings import Settings, parse

STATS = ("ttft_ms", "itl_ms", "e2e_ms")
# Bounds on what a level may ask for (each request costs the engine ~100 bytes while it runs).
MAX_TOKENS = 10_000_000
MAX_CONCURRENCY = 100_000
MAX_REQUESTS = 10_000_000
MAX_RATE = 1_000_000.0
#: Latest arrival a trace line may name, ms (31.7 years: the virtual clock keeps microseconds there).
MAX_TRACE_MS = 1e12
# Requests a level measured in time windows may send at most (ten windows of a fast deployment at
# high concurrency stay well below; it bounds the run's memory, ~100 bytes a request).
WINDOWED_REQUESTS = 2_000_000
PROG = "fakeai simulate"
#: ``(help, default)`` of the shared deployment options whose server wording (fixed timing, a server's
#: refusals) does not apply to a simulation.
HELP = {
    "max_num_seqs": (
        "Engine model: requests running at once on each replica; more wait for a slot (0 = vLLM's 256).",
        "0",
    ),
    "max_waiting_queue_length": (
        "Not simulated: every request waits for a slot and none is refused (a server refuses those "
        "beyond it with 503); taken so that a server's FAKEAI_* variables and --config file apply as they are.",
        "no limit",
    ),
}


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2."""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "simulate",
        help="Simulate a deployment under load on a virtual clock (no HTTP).",
        description="Simulate one deployment (model x GPU x precision x TP x replicas, vLLM scheduler knobs) "
        "under closed-loop, Poisson or trace load, with fakeai's calibrated engine model. The deployment "
        "options are fakeai server's: also FAKEAI_* variables and keys of the --config scenario file.",
    )
    from fakeai.cli import add_option

    p.add_argument(
        "--model",
        default="meta-llama/Llama-3.1-8B-Instruct",
        help="Model id: one of the catalog, or the Hugging Face id of a known architecture. "
        "(default: meta-llama/Llama-3.1-8B-Instruct)",
    )
    for name in deployment.OPTIONS:
        add_option(p, Settings.knob(name), typed=False, text=HELP.get(name))
    p.add_argument(
        "--isl", type=str, default="200", metavar="TOKENS", help="Prompt tokens per request. (default: 200)"
    )
    p.add_argument(
        "--osl", type=str, default="200", metavar="TOKENS", help="Output tokens per request. (default: 200)"
    )
    load = p.add_mutually_exclusive_group()
    load.add_argument(
        "--concurrency", nargs="+", metavar="C", help="Closed-loop clients, one level per value."
    )
    load.add_argument(
        "--rate", nargs="+", metavar="R", help="Poisson arrivals per second, one level per value."
    )
    load.add_argument("--trace", metavar="FILE", help="Mooncake-style JSONL trace to replay.")
    p.add_argument(
        "--requests",
        type=str,
        default=None,
        metavar="N",
        help=(
            "Requests sent per level; a closed loop measures after 3 rounds (3 x C) of warm-up and before"
            " the last round, so it needs at least 3 x C; Poisson arrivals leave the first tenth out."
            " (default: closed loop max(200, 10 x C); rate max(500, 120 s of arrivals))"
        ),
    )
    p.add_argument(
        "--measurement-interval",
        type=str,
        default=None,
        metavar="MS",
        help=(
            "Closed loop only: measure as GenAI-Perf (perf_analyzer's time windows) does with this"
            " --measurement-interval, instead of the steady state: windows of 1.2 x MS from the start,"
            " no warm-up, stop at 3 windows agreeing within --stability-percentage (at most 10), every"
            " request that ended by then (--requests then caps the requests sent). (default: off)"
        ),
    )
    p.add_argument(
        "--stability-percentage",
        type=str,
        default="999",
        metavar="PCT",
        help="With --measurement-interval: how closely 3 windows must agree (max/min <= 1 + PCT/100),"
        " as GenAI-Perf's option. (default: 999, GenAI-Perf's; perf_analyzer's own is 10)",
    )
    p.add_argument("--seed", type=str, default="0", help="Seed of Poisson arrivals. (default: 0)")
    p.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="Output format. (default: table)"
    )
    p.add_argument(
        "--config", default=None, metavar="FILE", help="Scenario file (as fakeai server's) setting options."
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Progress bar on stderr. (default: on when stderr is a terminal)",
    )
    return p


def _number(kind: type, raw: str, name: str, minimum: float = 1, maximum: float = 1e9) -> Any:
    """``raw`` as ``kind`` within [minimum, maximum], or a UsageError naming it (every size or count
    a level allocates by is bounded here, before the engine sees it)."""
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise UsageError(
            f"{name} must be a{'n integer' if kind is int else ' number'}, got {raw!r}"
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise UsageError(f"{name} must be >= {minimum:g}, got {raw!r}")
    if value > maximum:
        raise UsageError(f"{name} must be <= {maximum:g}, got {raw!r}")
    return value


def read_trace(path: str) -> list[tuple[float, int, int, list[int]]]:
    """``(arrival_s, input, output, hash_ids)`` per line of a Mooncake JSONL trace, sorted by arrival."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read trace {path!r}: {getattr(e, 'strerror', None) or e}") from None
    entries = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            ts, isl, osl = row["timestamp"], row["input_length"], row["output_length"]
            hashes = row.get("hash_ids") or []
            if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not 0 <= ts <= MAX_TRACE_MS:
                raise ValueError(f"timestamp must be a number of ms from 0 to {MAX_TRACE_MS:g}, got {ts!r}")
            for key, v in (("input_length", isl), ("output_length", osl)):
                if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v < 2**31:
                    raise ValueError(f"{key} must be a positive integer, got {v!r}")
            if not isinstance(hashes, list) or not all(
                isinstance(h, int) and not isinstance(h, bool) and 0 <= h < 2**64 for h in hashes
            ):
                raise ValueError("hash_ids must be a list of non-negative integers")
        except KeyError as e:
            raise UsageError(f"trace {path} line {n}: missing {e.args[0]!r}") from None
        except ValueError as e:
            raise UsageError(f"trace {path} line {n}: {e}") from None
        entries.append((ts / 1000.0, isl, osl, hashes))
    if not entries:
        raise UsageError(f"trace {path} holds no requests")
    entries.sort(key=lambda e: e[0])
    return entries


class Progress:
    """A bar on stderr, drawn once a level has run for half a second."""

    def __init__(self, enabled: bool, levels: int) -> None:
        self.enabled, self.levels, self.level = enabled, levels, 0
        self.start = self.last = 0.0
        self.drawn = False

    def begin(self, level: int) -> None:
        self.level, self.start, self.last = level, time.monotonic(), 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.start < 0.5 or now - self.last < 0.1:
            return
        self.last, self.drawn = now, True
        filled = int(30 * min(max(fraction, 0.0), 1.0))
        sys.stderr.write(
            f"\r{PROG}: level {self.level + 1}/{self.levels} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}"
        )
        sys.stderr.flush()

    def end(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * 72 + "\r")
            sys.stderr.flush()


def simulate(
    args: argparse.Namespace, environ: dict[str, str] | os._Environ[str] = os.environ
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The deployment's description and one result per level."""
    from fakeai import _core
    from fakeai.cli import settings_from

    flags: dict[str, Any] = {"config": args.config}
    try:
        for name in deployment.OPTIONS:
            raw, f = getattr(args, name, None), Settings.knob(name)
            if raw is not None:
                flags[name] = raw if isinstance(raw, bool) else parse(f, raw, f.metadata["flag"])
        settings = settings_from(flags, environ)
    except ValueError as e:
        raise UsageError(str(e)) from None
    spec = deployment.spec(settings, args.model)
    try:
        info = _core.deployment_info(spec)
    except _core.InvalidInput as e:
        raise UsageError(e.args[0]) from None
    isl = _number(int, args.isl, "--isl", 1, MAX_TOKENS)
    osl = _number(int, args.osl, "--osl", 1, MAX_TOKENS)
    requests = None
    if args.requests is not None:
        requests = _number(int, args.requests, "--requests", 1, MAX_REQUESTS)
    seed = _number(int, args.seed, "--seed", 0, 2**64 - 1)
    interval = args.measurement_interval
    if interval is not None:
        if args.trace or args.rate:
            raise UsageError("--measurement-interval measures closed-loop levels (--concurrency) only")
        interval = _number(float, interval, "--measurement-interval", 1, 3_600_000) / 1000.0
    stability = _number(float, args.stability_percentage, "--stability-percentage", 0, 1e6) / 100.0
    show = sys.stderr.isatty() if args.progress is None else args.progress
    results = []
    try:
        if args.trace:
            entries = read_trace(args.trace)
            bar = Progress(show, 1)
            bar.begin(0)
            level = _core.simulate_trace(spec, entries, bar)
            bar.end()
            results.append({"trace": args.trace, **level})
        elif args.rate:
            rates = [_number(float, r, "--rate", 1e-9, MAX_RATE) for r in args.rate]
            bar = Progress(show, len(rates))
            for i, rate in enumerate(rates):
                bar.begin(i)
                n = requests or min(max(500, int(rate * 120)), MAX_REQUESTS)
                results.append({"rate": rate, **_core.simulate_poisson(spec, isl, osl, rate, n, seed, bar)})
            bar.end()
        else:
            levels = [
                _number(int, c, "--concurrency", 1, MAX_CONCURRENCY) for c in (args.concurrency or ["1"])
            ]
            if requests is not None:
                c = max(levels)
                rounds = 1 if interval is not None else 3
                if requests < rounds * c:
                    why = (
                        "fewer requests than clients"
                        if interval is not None
                        else "a closed loop's first round is warm-up and its last is not measured"
                    )
                    raise UsageError(
                        f"--requests {requests} is too few for {c} clients ({why}): give at least "
                        f"{rounds * c}, or leave --requests out"
                    )
            bar = Progress(show, len(levels))
            for i, c in enumerate(levels):
                bar.begin(i)
                if interval is None:
                    n = requests or max(200, 10 * c)
                else:
                    n = requests or WINDOWED_REQUESTS
                level = _core.simulate_closed_loop(spec, isl, osl, c, n, bar, interval, stability)
                if interval is not None:  # where the windows stopped, as GenAI-Perf's run did
                    level["measured_s"] = level["simulated_s"]
                results.append({"concurrency": c, **level})
            bar.end()
    except _core.InvalidInput as e:
        raise UsageError(e.args[0]) from None
    return info, results


def render(info: dict[str, Any], results: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([_public(r) for r in results], indent=2)
    key = next(k for k in ("concurrency", "rate", "trace") if k in results[0])
    header = (
        [key]
        + [f"{s}_{q}" for s in STATS for q in ("mean", "p50", "p99")]
        + ["output_tokens_per_s", "requests_per_s", "preemptions"]
    )
    rows = [
        [r[key]]
        + [r[s][q] for s in STATS for q in ("mean", "p50", "p99")]
        + [r["output_tokens_per_s"], r["requests_per_s"], r["preemptions"]]
        for r in results
    ]
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows([[_fmt(v) for v in row] for row in rows])
        return out.getvalue().rstrip("\n")
    title = (
        f"# {info['architecture']} {info['precision']} on {info['replicas']} x {info['tp']} x {info['gpu']}: "
        f"{info['weights_gb_per_gpu']:.1f} GB weights and {info['kv_gb_per_gpu']:.1f} GB KV per GPU "
        f"({info['kv_tokens']} tokens per replica), max-num-seqs {info['max_num_seqs']}, "
        f"max-num-batched-tokens {info['max_num_batched_tokens']}, KV {info['kv_policy']}"
    )
    short = [
        key,
        "ttft_mean",
        "ttft_p50",
        "ttft_p99",
        "itl_mean",
        "itl_p50",
        "itl_p99",
        "e2e_mean",
        "e2e_p50",
        "e2e_p99",
        "tok/s",
        "req/s",
        "preempt",
    ]
    cells = [short] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(short))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([title, "# latencies in ms", *lines])


def _public(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "simulated_s"}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def run(args: argparse.Namespace) -> int:
    try:
        info, results = simulate(args)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    print(render(info, results, args.format))
    return 0
