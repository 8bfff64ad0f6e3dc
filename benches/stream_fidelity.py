"""Streaming timing fidelity under load: do N concurrent streams keep their configured TTFT and ITL?

    python benches/stream_fidelity.py                       # N = 100, 1,000 and 5,000 streams
    python benches/stream_fidelity.py --streams 1000 --floor   # beside the bare floor app, level by level
    python benches/stream_fidelity.py --streams 200 1000 --floor --floor-rsgi   # + the floor on RSGI
    python benches/stream_fidelity.py --streams 1000 --server-workers 2
    python benches/stream_fidelity.py --streams 200 1000 --floor --floor-rsgi --rounds 3   # ratios
    python benches/stream_fidelity.py --streams 200 --floor --ref /tmp/base-venv/bin/python   # before/after
    python benches/stream_fidelity.py --streams 200 --engine   # Llama-3.1-8B timed by the engine model

Starts ``fakeai server --workers 1 --ttft 50 --itl 10 --jitter 0`` with one simulated worker and the
KV/queueing effects off (``--kv-workers 1 --kv-batch-size 0 --kv-cache-blocks 0``), then for each N
opens N keep-alive connections from ``--clients`` load processes and keeps N 64-token streamed chat
completions in flight for ``--duration`` seconds, as a load tester's concurrency mode does: each
connection sends its next request as soon as its stream ends, and the connections start staggered
over one stream's length so that arrivals are spread evenly. Streams started in the first second
(the ramp) are not counted; every content chunk's arrival time is recorded for the rest.

With ``--engine`` the streams are Llama-3.1-8B's, timed by the engine model (the server started
without ``--ttft``/``--itl``): their TTFT and ITL are the simulated deployment's, not 50/10 ms, so no
row is marked LATE and no floor is run; what it measures is the server's CPU per token with the engine
on.

Printed per N: TTFT p50/p99 and inter-chunk gap p50/p99 against the configured 50 ms / 10 ms, server
CPU seconds per delivered token (utime + stime of the server's processes, from ``/proc``),
the busiest load process's CPU use, and the p99 of how long after its arrival the client read a chunk.
A row marked LATE is a server that fell behind (median gap off by over 1 ms): it writes several due tokens
at once, which costs less per token, so its CPU per token is left out of the summary. With a floor or
``--rounds``, each level ends with the median CPU per token of every kind (the kinds interleaved
round by round, so a noisy neighbour weighs on all of them) and fakeai's ratio to each floor.

The load client is built not to be the bottleneck, nor to distort what it measures: it is a small
Rust program (``benches/stream_client``, built with cargo on first use) that waits on every socket
with one epoll loop (a chunk costs one ``recvmsg`` and a substring count) and takes each chunk's
arrival time from the kernel's receive timestamp (``SO_TIMESTAMPNS``), so a late read by the client
does not move the time it records. Both of its costs are printed: CPU share (a client near 100% of a
core would coalesce chunks) and read lag. Unless ``--no-pin``, the server is pinned with ``taskset`` to
CPUs 0..workers-1 and the load clients to the last CPU, as ``benches/http_load.py`` does: on a 2-core
machine the server's CPU per token decides how many streams one worker keeps on time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fakeai.runtime.process import free_port, group_cpu_seconds, spawn, stop

TOKENS = 64
TTFT, ITL = 0.050, 0.010
CONTENT = b'{"content":"'
END = b"data: [DONE]"


#: The model of ``--engine``: an open model, so ``--timing auto`` puts it on the engine model.
ENGINE_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def request(port: int, model: str = "gpt-4o") -> bytes:
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Tell me about inference servers."}],
            "max_tokens": TOKENS,
            "ignore_eos": True,
            "stream": True,
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "target" / "release" / "fakeai-stream-client"


def build_client() -> Path:
    """Build the Rust load client (``benches/stream_client``) once."""
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "fakeai-stream-client"], cwd=ROOT, check=True
    )
    return CLIENT


def start_clients(
    port: int, streams: int, clients: int, start_at: float, duration: float, pin: list[str], model: str
) -> list:
    """Start ``clients`` load processes sharing ``streams`` connections (``pin``: a ``taskset``
    prefix), each streaming chat completions of ``model``."""
    shares = [streams // clients + (i < streams % clients) for i in range(clients)]
    procs = []
    for i, n in enumerate(shares):
        args = [str(a) for a in (port, n, sum(shares[:i]), streams, start_at, duration, TTFT + TOKENS * ITL)]
        with tempfile.TemporaryFile() as body:
            body.write(request(port, model))
            body.seek(0)
            procs.append(subprocess.Popen([*pin, CLIENT, *args], stdin=body, stdout=subprocess.PIPE))
    return procs


def client_results(proc: subprocess.Popen, start_at: float, timeout: float) -> dict:
    """One load process's TTFTs, gaps and read lags (seconds), tokens and CPU share. Streams sent in
    the first second (the ramp) are not counted."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"load client did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"load client failed with exit status {proc.returncode}")
    report = json.loads(out)
    ttfts, gaps, lags, tokens, counted = [], [], [], 0, (start_at + 1.0) * 1e9
    for sent, arrivals, stream_lags in report["streams"]:
        tokens += len(arrivals)
        if sent >= counted and arrivals:
            ttfts.append((arrivals[0] - sent) / 1e9)
            gaps.extend((b - a) / 1e9 for a, b in itertools.pairwise(arrivals))
            lags.extend(lag / 1e9 for lag in stream_lags)
    return {
        "ttfts": ttfts,
        "gaps": gaps,
        "lags": lags,
        "tokens": tokens,
        "share": report["cpu"] / report["wall"],
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_level(
    port: int,
    server_pid: int,
    streams: int,
    clients: int,
    duration: float,
    pin: list[str],
    model: str = "gpt-4o",
) -> dict[str, float]:
    clients = max(1, min(clients, streams))
    start_at = time.monotonic() + 1.0 + streams / 1000
    procs = start_clients(port, streams, clients, start_at, duration, pin, model)
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu0 = group_cpu_seconds(server_pid)
    results = [client_results(p, start_at, duration + 120) for p in procs]
    cpu = group_cpu_seconds(server_pid) - cpu0
    ttfts = [t for r in results for t in r["ttfts"]]
    gaps = [g for r in results for g in r["gaps"]]
    lags = [g for r in results for g in r["lags"]]
    tokens = sum(r["tokens"] for r in results)
    return {
        "streams": streams,
        "counted": len(ttfts),
        "ttft_p50": pct(ttfts, 0.5),
        "ttft_p99": pct(ttfts, 0.99),
        "gap_p50": pct(gaps, 0.5),
        "gap_p99": pct(gaps, 0.99),
        "gap_mean": statistics.fmean(gaps) if gaps else float("nan"),
        "tokens": tokens,
        "server_cpu_us_per_token": cpu / tokens * 1e6 if tokens else float("nan"),
        "client_lag_p99": pct(lags, 0.99),
        "client_cpu_share": max(r["share"] for r in results),
    }


def cpus(workers: int, no_pin: bool) -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for the server (CPUs 0..workers-1) and the load clients (the last CPU);
    empty when not pinning or when the machine has a single CPU."""
    n = os.cpu_count() or 1
    if no_pin or n < 2 or shutil.which("taskset") is None:
        return [], []
    server = ",".join(str(c) for c in range(min(workers, n - 1)))
    return ["taskset", "-c", server], ["taskset", "-c", str(n - 1)]


def start_server(
    kind: str, port: int, workers: int, pin: list[str], ref: str | None = None, engine: bool = False
) -> subprocess.Popen:
    """``fakeai server`` as configured above (``engine``: without a fixed timing, so that the engine
    model times :data:`ENGINE_MODEL`), or the bare floor app (``benches/bare_stream.py``), under
    ``pin`` (a ``taskset`` prefix)."""
    if kind in ("floor", "floor-rsgi", "ref-floor"):
        interface, target = (
            ("rsgi", "bare_stream:app_rsgi") if kind == "floor-rsgi" else ("asgi", "bare_stream:app")
        )
        # this interpreter's granian (the --ref one for ref-floor): the floor plays that fakeai build's ticker
        command = [
            ref if kind == "ref-floor" else sys.executable,
            "-m",
            "granian",
            "--interface",
            interface,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        command += ["--backlog", "4096", "--backpressure", "65536", "--log-level", "warning"]
        command += ["--working-dir", str(ROOT / "benches"), target]
    else:  # "fakeai", or "ref": the fakeai that the interpreter ``ref`` imports (a base build)
        command = [
            ref if kind == "ref" else sys.executable,
            "-m",
            "fakeai",
            "server",
            *([] if engine else ["--ttft", "50", "--itl", "10", "--jitter", "0"]),
        ]
        command += ["--kv-workers", "1", "--kv-batch-size", "0", "--kv-cache-blocks", "0"]
        command += ["--workers", str(workers), "--log-level", "warning", "--port", str(port)]
    return spawn([*pin, *command], port)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--clients", type=int, default=1, help="load-generating processes")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of load per level")
    parser.add_argument("--server-workers", type=int, default=1, help="granian worker processes")
    parser.add_argument(
        "--floor", action="store_true", help="also measure the bare floor app, level by level"
    )
    parser.add_argument(
        "--floor-rsgi",
        action="store_true",
        help="also measure the bare floor app on granian's RSGI interface, level by level",
    )
    parser.add_argument(
        "--ref",
        metavar="PYTHON",
        help="also measure the fakeai that this interpreter imports (a base build, e.g. a venv with "
        "main installed), as the kind 'ref'; with --floor, also the ASGI floor under it ('ref-floor': "
        "the base build's ticker)",
    )
    parser.add_argument(
        "--engine",
        action="store_true",
        help=f"stream {ENGINE_MODEL} timed by the engine model (fakeai only, no floor, no LATE rows)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every kind this many times per level, interleaved; the summary takes medians",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server (CPUs 0..workers-1) and the load clients (the last CPU) with taskset",
    )
    args = parser.parse_args()
    server_pin, client_pin = cpus(args.server_workers, args.no_pin)
    if args.engine and (args.floor or args.floor_rsgi or args.ref):
        parser.error("--engine measures fakeai alone (its timing is not the floors' 50/10 ms)")
    kinds = [
        "fakeai",
        *(["ref"] if args.ref else []),
        *(["ref-floor"] if args.ref and args.floor else []),
        *(["floor"] if args.floor else []),
        *(["floor-rsgi"] if args.floor_rsgi else []),
    ]
    build_client()
    if args.engine:
        print(f"{ENGINE_MODEL} timed by the engine model, {TOKENS} tokens per stream")
    else:
        print(f"configured: TTFT {TTFT * 1000:.0f} ms, ITL {ITL * 1000:.0f} ms, {TOKENS} tokens per stream")
    print(
        "server     streams counted  TTFT p50  TTFT p99   gap p50   gap p99  gap mean  server CPU/token"
        "  client CPU  read lag p99"
    )
    for n in args.streams:
        cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                r = measure(kind, n, args, server_pin, client_pin)
                if r is not None and (args.engine or on_time(r)):
                    cpu[kind].append(r["server_cpu_us_per_token"])
        if args.rounds > 1 or len(kinds) > 1:
            summarize(n, cpu)


def measure(
    kind: str, n: int, args: argparse.Namespace, server_pin: list[str], client_pin: list[str]
) -> dict[str, float] | None:
    """One level on a fresh server of ``kind``, printed as one row (None when it failed)."""
    port = free_port()
    server = start_server(kind, port, args.server_workers, server_pin, args.ref, args.engine)
    model = ENGINE_MODEL if args.engine else "gpt-4o"
    try:
        run_level(port, server.pid, 20, 1, 1.5, client_pin, model)  # warm-up
        r = run_level(port, server.pid, n, args.clients, args.duration, client_pin, model)
    except RuntimeError as e:
        print(f"{kind:<10} {n:>7} failed: {e}", flush=True)
        return None
    finally:
        stop(server)
    print(
        f"{kind:<10} {r['streams']:>7} {r['counted']:>7}"
        f" {r['ttft_p50'] * 1e3:>7.1f}ms {r['ttft_p99'] * 1e3:>7.1f}ms"
        f" {r['gap_p50'] * 1e3:>7.2f}ms {r['gap_p99'] * 1e3:>7.2f}ms {r['gap_mean'] * 1e3:>7.2f}ms"
        f" {r['server_cpu_us_per_token']:>13.1f} us {r['client_cpu_share'] * 100:>9.0f}%"
        f" {r['client_lag_p99'] * 1e3:>10.2f}ms{'' if args.engine or on_time(r) else '  LATE'}",
        flush=True,
    )
    return r


def on_time(r: dict[str, float]) -> bool:
    """Whether the server kept the streams' pace (median gap within 1 ms of the ITL). A server that
    falls behind writes several due tokens at once, which costs less per token: its CPU per token is
    not comparable, and is left out of the summary. (A late first token, from requests queued behind
    the writes on a busy loop, does not change what the tokens cost.)"""
    return abs(r["gap_p50"] - ITL) <= 0.001


def summarize(n: int, cpu: dict[str, list[float]]) -> None:
    """Median CPU per token of each kind over the rounds it kept on time, and the ratios of fakeai
    (and of the ``--ref`` build) to the others."""
    medians = {kind: statistics.median(v) for kind, v in cpu.items() if v}
    parts = [f"{kind} {m:.1f} us ({len(cpu[kind])} on time)" for kind, m in medians.items()]
    pairs = [("fakeai", "ref"), ("fakeai", "floor"), ("fakeai", "floor-rsgi"), ("ref", "ref-floor")]
    pairs.append(("floor", "ref-floor"))
    ratios = [f"{a}/{b} {medians[a] / medians[b]:.2f}x" for a, b in pairs if a in medians and b in medians]
    print(f"  {n} streams, median CPU/token: {', '.join(parts)}; {', '.join(ratios)}", flush=True)


if __name__ == "__main__":
    main()
