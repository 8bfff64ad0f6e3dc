"""Live against offline: does ``fakeai server`` deliver the engine model's TTFT and ITL on the wall clock?

    python benches/live_vs_simulate.py                          # concurrency 1, 5, 25; --workers 1 and 2; 20 s each
    python benches/live_vs_simulate.py --concurrency 1 5 --duration 4 --save-traces /tmp/traces
    python benches/live_vs_simulate.py --client raw             # tight clients (GenAI-Perf's turnaround)

For Llama-3-8B on one H100 in fp8 (the engine's default deployment of that model), 200 prompt and 200
output tokens: closed-loop streaming clients (asyncio + httpx, one connection each, every prompt
different, so no prefix-cache hit, all starting together) keep C streams in flight against ``fakeai
server --workers W`` for ``--duration`` seconds per level. TTFT is the time to the first content
chunk, ITL a request's (last - first chunk) / (chunks - 1); mean and median over the requests
``fakeai simulate``'s closed loop would measure (each client's rounds after the first 3, and not its
last request). The bare floor (``benches/bare_stream.py``: a prebuilt 64-chunk stream at TTFT 50 ms /
ITL 10 ms paced by fakeai's ticker, with as many granian workers) runs the same levels in the same
run; what it shows above 50 ms / 10 ms (per statistic) is subtracted from fakeai's figures (``corr``).
``--client raw`` replaces httpx with bare keep-alive sockets that find content chunks by a byte
search and write the next request as soon as a stream's last bytes are in (:class:`live_clients.Raw`): a client
whose own turnaround and jitter are as small as GenAI-Perf's, to tell the client's share of a
difference from the server's. The server runs on CPU 0 and the clients on the others (``taskset``; ``--no-pin`` turns this off);
``load`` is the 1-minute load average after each level (the machine may be shared).

``corr`` is compared with two offline figures of the same engine (``fakeai simulate``'s):

- ``closed``: its closed loop (``_core.simulate_closed_loop``) of C clients and as many requests as
  the live clients sent, measured by the same rule, its clients turning around as the live ones did
  (``gap``: their mean turnaround plus the floor's round trip; ``cv``: their spread);
- ``replay``: the offline engine given the live requests' own arrivals (when each client wrote its
  request, through the server's front end: :func:`fakeai._core.frontend_arrivals`, then
  :class:`fakeai._core.EngineModel`), TTFT from that write, the same requests measured. ``--save-traces DIR`` writes these engine arrivals
  as Mooncake JSONL, which ``fakeai simulate --trace`` replays (whole, without the front end).

``ttft srv`` is the server's own mean TTFT (``/metrics``: from the request's arrival to the first
token the engine settled, no HTTP and so no floor) of the requests whose first token came after
every client had begun its fourth round, beside ``replay``'s for the same requests: on a busy
machine the clients' figures and the floor move by more than the engine does, the server's do not.

``replay`` asks whether the live server's engine gives the offline engine's token times for the same
arrivals; ``closed`` adds whether the closed loop produces the live arrivals. At concurrency 25 that
depends on the clients: all start together, so the first rounds' prefills share steps and their requests
finish together (a convoy), which the closed loop keeps (the footer prints its TTFT by rounds) and tight
clients (``--client raw``) keep too; httpx clients, whose event loop reads a stream's end a few ms late
at random, break it up (docs/engine-model.md, *Live against offline*). Every prompt of a run is distinct,
across levels too (:data:`live_levels.PROMPTS`): a prompt repeated from an earlier level on the same
server is a prefix-cache hit, whose nearly free prefill would keep a level from forming its convoy. The
last lines count the comparisons within 10%.

The pieces, one module each beside this one: ``live_clients.py`` (the request and the two clients:
httpx and ``--client raw``), ``live_levels.py`` (starting fakeai or the floor, running a level, which
requests count and what they measured), ``offline_runs.py`` (the closed loop and the replay); this
file compares them and prints the report.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
from pathlib import Path

from bare_stream import ITL as FLOOR_ITL
from bare_stream import TTFT as FLOOR_TTFT
from fakeai.engine.deployment import spec
from fakeai.runtime.process import stop
from fakeai.settings import Settings
from live_clients import ISL, MODEL, OSL
from live_levels import Sent, Server, level, observed, serve
from offline_runs import by_rounds, closed_loop, replay


def compare(
    deployment: dict,
    isl: int,
    v: dict[str, float],
    f: dict[str, float],
    sent: list[Sent],
    server: Server | None,
    warmup: int,
    save: Path | None,
) -> list[tuple[str, str, dict[str, float]]]:
    """One live level ``v`` (its requests ``sent``, the ``server``'s own TTFT) with its floor ``f``,
    against the closed loop (``fakeai simulate`` with these clients' turnaround, as many requests)
    and the replay of its arrivals: per statistic, the printed line, its name and the relative errors."""
    # The offline clients turn around as these did: from the last token leaving the engine to the
    # next request entering the server is the clients' own turnaround plus the round trip the
    # floor shows; their spread as these clients' (lognormal, sigma from the coefficient of variation).
    gap = max(v["turnaround"] + f["ttft"] - FLOOR_TTFT, 1e-6)
    cv = v["turnaround_sd"] / gap
    sim = closed_loop(deployment, isl, len({r.client for r in sent}), v["sent"], (gap, cv))
    rp = replay(deployment, isl, sent, warmup, server.since if server else math.inf, save)
    out = []
    for stat, name, nominal, closed in (
        ("ttft", "ttft mean", FLOOR_TTFT, sim["ttft_ms"]["mean"] / 1e3),
        ("ttft_p50", "ttft p50", FLOOR_TTFT, sim["ttft_ms"]["p50"] / 1e3),
        ("itl", "itl mean", FLOOR_ITL, sim["itl_ms"]["mean"] / 1e3),
        ("itl_p50", "itl p50", FLOOR_ITL, sim["itl_ms"]["p50"] / 1e3),
    ):
        corr = v[stat] - (f[stat] - nominal)
        errors = {"closed": corr / closed - 1, "replay": corr / rp[stat] - 1}
        lead = f"{gap * 1e3:5.2f} {cv:4.1f}" if stat == "ttft" else " " * 33
        out.append(
            (
                f"{lead} {name:>9} {v[stat] * 1e3:7.2f} {(f[stat] - nominal) * 1e3:6.2f} {corr * 1e3:7.2f} "
                f"{closed * 1e3:7.2f} {errors['closed']:+6.1%} {rp[stat] * 1e3:7.2f} {errors['replay']:+6.1%}",
                name,
                errors,
            )
        )
    if server is not None and server.count:
        # The server's own figure needs no floor: it never left the server.
        e = server.ttft / rp["srv"] - 1
        out.append(
            (
                f"{'server ' + str(server.count):>33} {'ttft srv':>9} {server.ttft * 1e3:7.2f} {'':>6} "
                f"{server.ttft * 1e3:7.2f} {'':>7} {'':>6} {rp['srv'] * 1e3:7.2f} {e:+6.1%}",
                "ttft srv",
                {"replay": e},
            )
        )
    return out


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
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="httpx (default: the Python SDKs' stack) or raw: bare keep-alive sockets that send the "
        "next request as soon as a stream ends (GenAI-Perf's tight turnaround)",
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
    raw = args.client == "raw"

    deployment = spec(Settings(gpu="H100", precision="fp8", tp=1), MODEL)
    # The warm-up rounds `fakeai simulate` leaves out (one client: its warm-up requests).
    warmup = closed_loop(deployment, ISL, 1, 200)["warmup_requests"]
    floor: dict[tuple[int, int], dict[str, float]] = {}
    live: dict[tuple[int, int], tuple[list[Sent], Server | None]] = {}
    load: dict[tuple[int, int], float] = {}
    for workers in args.workers:
        # The floor with as many granian workers, each level right before the server's (a shared
        # machine's load changes by the minute).
        servers: list[tuple[int, object]] = []
        try:
            servers += [serve("floor", workers, args.pin), serve("fakeai", workers, args.pin)]
            (floor_port, _), (port, _) = servers
            for c in args.concurrency:
                # The floor's first round opens the connections; it has no engine to warm up.
                floor[workers, c] = observed(
                    level(floor_port, c, args.duration, args.words, args.stagger, raw=raw)[0], 1
                )
                live[workers, c] = level(port, c, args.duration, args.words, args.stagger, warmup, raw)
                load[workers, c] = os.getloadavg()[0]
        finally:
            for _, proc in servers:
                stop(proc)
    load_after = os.getloadavg()
    seen = {key: observed(sent, warmup) for key, (sent, _) in live.items()}
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
    within: dict[str, list[str]] = {"closed": [], "replay": []}
    outside: dict[str, list[str]] = {"closed": [], "replay": []}
    for (workers, c), v in seen.items():
        save = args.save_traces / f"live_w{workers}_c{c}.jsonl" if args.save_traces else None
        for line, name, errors in compare(
            deployment, isl, v, floor[workers, c], *live[workers, c], warmup, save
        ):
            if name == "ttft mean":
                line = f"{workers:7d} {c:3d} {v['sent']:5d} {v['measured']:4d} {line}"
            elif name == "ttft p50":
                line = f"{'load ' + format(load[workers, c], '.1f'):>22}{line[22:]}"
            print(line)
            for side, e in errors.items():
                (within if abs(e) <= 0.10 else outside)[side].append(f"w{workers} C={c} {name} {e:+.0%}")
    for side in ("replay", "closed"):
        total = len(within[side]) + len(outside[side])
        print(
            f"# {side}: {len(within[side])}/{total} within 10%; outside: {', '.join(outside[side]) or 'none'}"
        )
    print("# `fakeai simulate` with its fitted client gap (GenAI-Perf against NIM), --requests as sent live:")
    for c in args.concurrency:
        n = max(v["sent"] for (_, cc), v in seen.items() if cc == c)
        fitted = closed_loop(deployment, isl, c, n)
        print(
            f"#   C={c} --requests {n}: ttft mean {fitted['ttft_ms']['mean']:.2f} p50 {fitted['ttft_ms']['p50']:.2f}, "
            f"itl mean {fitted['itl_ms']['mean']:.2f} p50 {fitted['itl_ms']['p50']:.2f}"
        )

    print(
        "# the same closed loop, mean TTFT of the requests sent in rounds a-b (a longer run's extra rounds):"
    )
    for c in args.concurrency:
        if c > 1:
            print(f"#   C={c}: " + ", ".join(f"{a}-{b} {t:.1f}" for a, b, t in by_rounds(deployment, isl, c)))


if __name__ == "__main__":
    main()
