"""Streaming timing fidelity under load: do N concurrent streams keep their configured TTFT and ITL?

    python benches/stream_fidelity.py                       # N = 100, 1,000 and 5,000 streams
    python benches/stream_fidelity.py --streams 1000 --clients 2 --server-workers 2

Starts ``fakeai server --workers 1 --ttft 50 --itl 10 --jitter 0`` with one simulated worker and the
KV/queueing effects off (``--kv-workers 1 --kv-batch-size 0 --kv-cache-blocks 0``), then for each N
opens N keep-alive connections from ``--clients`` load processes and keeps N 64-token streamed chat
completions in flight for ``--duration`` seconds, as a load tester's concurrency mode does: each
connection sends its next request as soon as its stream ends, and the connections start staggered
over one stream's length so that arrivals are spread evenly. Streams started in the first second
(the ramp) are not counted; every content chunk's arrival time is recorded for the rest.

Printed per N: TTFT p50/p99 and inter-chunk gap p50/p99 against the configured 50 ms / 10 ms, server
CPU seconds per delivered token (utime + stime of the server's processes, from ``/proc/<pid>/stat``),
and each load process's CPU use. The load client is built not to be the bottleneck: raw asyncio
``Protocol`` sockets on uvloop (no HTTP library; a chunk costs one callback, a timestamp and a
substring count), spread over several processes; its CPU share is printed so that a saturated client
shows up (a client near 100% of a core would coalesce chunks and distort the gaps).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOKENS = 64
TTFT, ITL = 0.050, 0.010
CONTENT = b'{"content":"'
END = b"data: [DONE]"
CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int) -> bytes:
    body = json.dumps(
        {
            "model": "gpt-4o",
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


class Stream(asyncio.Protocol):
    """One connection: sends a request, timestamps every content chunk, sends the next when the
    stream ends, until ``end``. ``streams`` collects ``(sent, [arrival, ...])`` per stream."""

    def __init__(self, payload: bytes, end: float, done: asyncio.Future[None]) -> None:
        self.payload, self.end, self.done = payload, end, done
        self.streams: list[tuple[float, list[float]]] = []
        self.arrivals: list[float] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        self.arrivals = []
        self.streams.append((time.monotonic(), self.arrivals))
        self.transport.write(self.payload)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        k = data.count(CONTENT)
        if k:
            self.arrivals.extend([now] * k)
        if END in data:
            if now < self.end:
                self.send()
            elif not self.done.done():
                self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def load(port: int, streams: int, first: int, total: int, start_at: float, duration: float) -> dict:
    """Run ``streams`` connections (numbers ``first..first + streams`` of ``total``) from ``start_at``."""
    loop = asyncio.get_running_loop()
    payload, end = request(port), start_at + duration
    conns: list[Stream] = []
    for i in range(streams):
        factory = lambda: Stream(payload, end, loop.create_future())
        _, proto = await loop.create_connection(factory, "127.0.0.1", port)
        conns.append(proto)
        if i % 200 == 199:
            await asyncio.sleep(0.01)  # let the server accept in batches
    length = TTFT + TOKENS * ITL
    for k, c in enumerate(conns):  # stagger the first requests evenly over one stream's length
        loop.call_at(loop.time() + start_at - time.monotonic() + length * (first + k) / total, c.send)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.wait([c.done for c in conns], timeout=duration + 60)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    ttfts, gaps, tokens, counted = [], [], 0, start_at + 1.0
    for c in conns:
        for sent, arrivals in c.streams:
            tokens += len(arrivals)
            if sent >= counted and arrivals:
                ttfts.append(arrivals[0] - sent)
                gaps.extend(b - a for a, b in itertools.pairwise(arrivals))
        c.transport.close()
    return {"ttfts": ttfts, "gaps": gaps, "tokens": tokens, "cpu": cpu, "wall": wall}


def client_main(
    port: int, streams: int, first: int, total: int, start_at: float, duration: float, out: mp.Queue
) -> None:
    import uvloop

    out.put(uvloop.run(load(port, streams, first, total, start_at, duration)))


def process_tree_cpu(root: int) -> float:
    """utime + stime, seconds, of ``root`` and its descendants."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == p and pid not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(ticks.get(pid, 0) for pid in tree) / CLK


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_level(port: int, server_pid: int, streams: int, clients: int, duration: float) -> dict[str, float]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    clients = max(1, min(clients, streams))
    start_at = time.monotonic() + 2.0 + streams / 1000
    timeout = duration + 90
    shares = [streams // clients + (i < streams % clients) for i in range(clients)]
    procs = [
        ctx.Process(target=client_main, args=(port, n, sum(shares[:i]), streams, start_at, duration, out))
        for i, n in enumerate(shares)
    ]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu0 = process_tree_cpu(server_pid)
    results = [out.get(timeout=timeout + 60) for _ in procs]
    cpu = process_tree_cpu(server_pid) - cpu0
    for p in procs:
        p.join()
    ttfts = [t for r in results for t in r["ttfts"]]
    gaps = [g for r in results for g in r["gaps"]]
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
        "client_cpu_share": max(r["cpu"] / r["wall"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of load per level")
    parser.add_argument("--server-workers", type=int, default=1, help="granian worker processes")
    args = parser.parse_args()
    port = free_port()
    flags = ["--ttft", "50", "--itl", "10", "--jitter", "0", "--kv-workers", "1", "--kv-batch-size", "0"]
    flags += ["--kv-cache-blocks", "0", "--workers", str(args.server_workers), "--log-level", "warning"]
    flags += ["--port", str(port)]
    server = subprocess.Popen([sys.executable, "-m", "fakeai", "server", *flags], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        run_level(port, server.pid, 20, 1, 1.5)  # warm-up
        print(f"configured: TTFT {TTFT * 1000:.0f} ms, ITL {ITL * 1000:.0f} ms, {TOKENS} tokens per stream")
        print(
            "streams counted  TTFT p50  TTFT p99   gap p50   gap p99  gap mean  server CPU/token  client CPU"
        )
        for n in args.streams:
            r = run_level(port, server.pid, n, args.clients, args.duration)
            print(
                f"{r['streams']:>7} {r['counted']:>7}"
                f" {r['ttft_p50'] * 1e3:>7.1f}ms {r['ttft_p99'] * 1e3:>7.1f}ms"
                f" {r['gap_p50'] * 1e3:>7.2f}ms {r['gap_p99'] * 1e3:>7.2f}ms {r['gap_mean'] * 1e3:>7.2f}ms"
                f" {r['server_cpu_us_per_token']:>13.1f} us {r['client_cpu_share'] * 100:>9.0f}%",
                flush=True,
            )
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
