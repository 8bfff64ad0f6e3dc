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
search and write the next request as soon as a stream's last bytes are in (:class:`Raw`): a client
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
arrivals; ``closed`` adds whether the closed loop produces the live arrivals. The second does not at
concurrency 25: the clients start together, so the first rounds' prefills share steps and their
requests finish together (a convoy); the live clients lose it within a few rounds, the offline loop
only over hundreds (the footer prints its TTFT by rounds), and so do tight clients (``--client
raw``): what breaks the convoy live is the live path from the engine's last token to the next
request, not the client library. The last lines count the comparisons within 10%.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    #: When its bytes were written to the socket (what the server receives next; ``send`` is
    #: earlier by however long the busy client took to get there).
    wrote: float
    first: float
    last: float
    chunks: int
    prompt_tokens: int


async def one(http: httpx.AsyncClient, i: int, words: int) -> tuple[float, float, list[float], int]:
    """(start, request written, content-chunk arrival times, prompt tokens) of one streamed request."""
    payload = {
        "model": MODEL,
        "messages": prompt(i, words),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    wrote = [start]

    async def trace(event: str, info: dict) -> None:
        if event == "http11.send_request_body.complete":
            wrote[0] = time.perf_counter()

    times: list[float] = []
    prompt_tokens = 0
    async with http.stream(
        "POST",
        "/v1/chat/completions",
        json=payload,
        headers={"x-fakeai-output-tokens": str(OSL)},
        extensions={"trace": trace},
    ) as r:
        async for line in r.aiter_lines():
            if '"content"' in line and '"delta":{' in line:
                times.append(time.perf_counter())
            if '"usage":{' in line:
                prompt_tokens = json.loads(line[6:])["usage"]["prompt_tokens"]
    return start, wrote[0], times, prompt_tokens


class Raw:
    """A tight client's connection: HTTP/1.1 keep-alive on a bare asyncio stream, no HTTP library,
    no JSON per chunk (a content chunk is found by a byte search, as ``benches/stream_client``
    does), and its next request written as soon as the stream's last bytes are in: the turnaround
    of GenAI-Perf's C++ clients rather than httpx's."""

    CONTENT = b'"content":"'
    DONE = b"data: [DONE]"
    END = b"0\r\n\r\n"

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()

    async def one(self, i: int, words: int) -> tuple[float, float, list[float], int]:
        """As :func:`one`."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        body = json.dumps(
            {
                "model": MODEL,
                "messages": prompt(i, words),
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        ).encode()
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{self.port}\r\n"
            f"content-type: application/json\r\nx-fakeai-output-tokens: {OSL}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        start = time.perf_counter()
        self.writer.write(head + body)
        await self.writer.drain()
        wrote = time.perf_counter()
        times: list[float] = []
        seen = b""
        done = False
        while not (done and seen.endswith(self.END)):
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            now = time.perf_counter()
            # A marker split across two reads is found in the joined tail.
            window = seen[-16:] + data
            times.extend([now] * window.count(self.CONTENT))
            done = done or self.DONE in window
            seen = data if len(data) >= 16 else window
            if b'"prompt_tokens":' in window:
                tail = window.split(b'"prompt_tokens":', 1)[1]
                self.prompt_tokens = int(tail.split(b",", 1)[0].split(b"}", 1)[0])
        return start, wrote, times, getattr(self, "prompt_tokens", 0)


class Server(NamedTuple):
    """The server's own TTFT (its ``/metrics``: arrival to the first token the engine settled) of
    the requests whose first token came after ``since`` (seconds from the level's start: when every
    client had begun its first measured round): how many, and their mean (seconds)."""

    since: float
    count: int
    ttft: float


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
    :class:`Raw` connections instead of httpx."""

    async def run() -> tuple[list[Sent], Server | None]:
        out: list[Sent] = []
        begin = time.perf_counter()
        counter = iter(range(10**9))
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
                        i = next(counter)
                        start, wrote, ts, tokens = await (conn.one(i, words) if conn else one(http, i, words))
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


def replay(
    deployment: dict, isl: int, sent: list[Sent], warmup: int, since: float, save: Path | None
) -> dict[str, float]:
    """The offline engine (``fakeai simulate``'s, :class:`fakeai._core.EngineModel`) given the
    arrivals the live clients produced: each request enters the server's front end when its client
    wrote it (:func:`fakeai._core.frontend_arrivals`, the same lanes and draws as the live server)
    and the engine when that is done with it; TTFT from that write (the client's own delay before
    it is in the floor, which ``corr`` leaves out), measured as the live requests are. With
    ``save``, the engine arrivals are written there as a Mooncake JSONL trace (``fakeai simulate
    --trace`` replays them, without the front end). ``srv``: the mean TTFT of the requests whose
    first token came after ``since``, as the server's own figure counts them."""
    order = sorted(range(len(sent)), key=lambda k: sent[k].wrote)
    arrivals = _core.frontend_arrivals(deployment, [sent[k].wrote for k in order])
    engine = _core.EngineModel(deployment)
    ids = [0] * len(sent)
    for k, at in zip(order, arrivals, strict=True):
        engine.run_until(at)
        ids[k] = engine.submit(at, isl, OSL)
    engine.run_until(math.inf)
    ttft, itl, srv = [], [], []
    for r, i, keep in zip(sent, ids, measured(sent, warmup), strict=True):
        times = engine.token_times(i)
        if r.first >= since:
            srv.append(times[0] - r.wrote)
        if keep:
            ttft.append(times[0] - r.wrote)
            itl.append((times[-1] - times[0]) / (len(times) - 1))
    if save is not None:
        t0 = arrivals[0]
        rows = [
            {"timestamp": round((at - t0) * 1e3, 3), "input_length": isl, "output_length": OSL}
            for at in arrivals
        ]
        save.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return {**stats(ttft, itl), "srv": statistics.mean(srv) if srv else math.nan}


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


def by_rounds(deployment: dict, isl: int, c: int) -> list[tuple[int, int, float]]:
    """``fakeai simulate``'s closed loop of ``c`` clients: the mean TTFT (ms) of the requests sent
    in rounds a to b, from runs of growing length (each measures rounds 3 to its next-to-last: the
    difference of two runs is the rounds one has beyond the other; the runs are the same until the
    shorter one stops sending)."""
    out = []
    before = (3, 0.0, 0)
    for rounds in (10, 20, 40, 80, 160, 320):
        r = _core.simulate_closed_loop(deployment, isl, OSL, c, rounds * c)
        total, n = r["ttft_ms"]["mean"] * r["requests"], r["requests"]
        out.append((before[0], rounds - 1, (total - before[1]) / (n - before[2])))
        before = (rounds - 1, total, n)
    return out


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
    sigma = math.sqrt(math.log1p(cv * cv))
    dep = {**deployment, "coefficients": {"client_gap": gap, "client_sigma": sigma}}
    sim = _core.simulate_closed_loop(dep, isl, OSL, len({r.client for r in sent}), v["sent"])
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
    warmup = _core.simulate_closed_loop(deployment, ISL, OSL, 1, 200)["warmup_requests"]
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
        fitted = _core.simulate_closed_loop(deployment, isl, OSL, c, n)
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
