"""HTTP load benchmark: fakeai variants side by side in one run, each against its baseline, with wrk.

    python benches/http_load.py                               # chat vs the bare-ASGI floor, 1 and 2 workers
    python benches/http_load.py --variants chat tools image   # + a tool-calling chat and 1024x1024 images vs chat
    python benches/http_load.py --variants metrics-on --rounds 3    # metrics recording on vs off
    python benches/http_load.py --variants chat gateway       # auth + rate limits on vs plain chat
    python benches/http_load.py --variants access-log --rounds 3   # --access-log on vs off
    python benches/http_load.py --variants ref --ref /tmp/old/python   # chat from another checkout vs this one
    python benches/http_load.py --variants ref ref-embeddings --ref /tmp/old/python --workers 1 --rounds 3
    python benches/http_load.py --variants engine             # engine-model timing vs fixed timing (Llama-3.1-8B)
    python benches/http_load.py --variants engine-sat --workers 1 --rounds 3 --duration 5   # ... saturated
    python benches/http_load.py --variants engine-sat fixed-sat-0 --workers 1 --rounds 3 --duration 5
    python benches/http_load.py --variants engine-sat base-engine-sat --base-site DIR --workers 1 --rounds 3
    python benches/http_load.py --variants chat embeddings --workers 1 --rounds 3   # per server core
    # Anthropic's messages and OpenAI's Responses, each against the Python chain (--no-hot-path):
    python benches/http_load.py --variants messages messages-python responses responses-python \
        responses-nostore --workers 1 --rounds 3 --duration 5
    # per server core against every floor (ASGI, RSGI, and the embeddings-sized bodies: 19 KB as
    # ryu's shortest digits made it, 21 KB as the decimal grid's ten places make it now):
    python benches/http_load.py --variants chat embeddings embeddings-b64 --workers 1 --rounds 3 \
        --floors floor floor-rsgi floor-19k floor-19k-rsgi floor-21k
    python benches/http_load.py --list                        # every variant and its baseline
    # this build's chat against another build's (pip install --no-deps --target DIR <other checkout>):
    python benches/http_load.py --variants vs-base --base-site DIR --rounds 3
    # ... the same for embeddings (JSON floats, base64) and legacy completions, per server core:
    python benches/http_load.py --variants vs-base-embeddings-b64 vs-base-embeddings vs-base-completions \
        --base-site DIR --workers 1 --rounds 3 --duration 5 --floors floor

Every target is started as a real server on a free loopback port, warmed up, loaded with ``wrk`` for a
bounded time on loopback, and stopped. With ``--rounds N`` every target is measured N times in
alternating order (so drift in the machine's load falls on all alike) and the medians are reported.
Unless ``--no-pin``, the server is pinned with ``taskset`` to CPU 0 (``--workers 1``; N workers get CPUs
0..N-1) and wrk to the last CPU, so on a 2-core machine one worker's figures are per server core: the
client never takes the server's CPU. Printed per target: requests/s, p50/p99 latency, errors, the
server's CPU time per request (all its processes, from /proc), and the ratio of requests/s (and of
CPU per request) to the target's baseline measured in the same run. Needs ``wrk`` (Debian package ``wrk``).

Servers run with zero simulated latency (``--ttft 0 --itl 0``) except where a variant times requests.
The engine model cannot run without latency, so it has two pairs that measure different things:

- ``engine`` vs ``fixed-timed`` (latency-bound): Llama-3.1-8B timed by the engine model against the
  same request with a fixed 30 ms TTFT and 8 ms ITL, at ``--connections`` (64). The server is mostly
  idle, so requests/s is 64 over each mode's simulated latency (it compares the latencies, not the
  servers), and the engine's cost shows only in the CPU time per request ("cpu x base": the baseline's
  CPU per request over the variant's), which at this load also carries the idle loop's wake-ups.
- ``engine-sat`` vs ``fixed-sat`` (throughput): both saturate the server's core with 4096 connections
  (:data:`SATURATING`), so requests/s is what the server's CPU allows. "busy" is the server's CPU
  seconds per wall second (~1.0 when it has a core to itself; lower when other processes take part of
  it, which lowers both alike); "loop" is the time its workers' event-loop threads spent running or
  runnable per wall second: ~1.0 means the loop never waited for work, i.e. the server is saturated
  even where busy < 1 on a shared machine. The engine deployment has :data:`SAT_REPLICAS` replicas,
  so its simulated GPUs are not the limit (no request waits for a batch slot), and ``fixed-sat`` runs
  with no batch-slot limit at the engine's mean TTFT and ITL measured at this load by a calibration
  run of ``engine-sat`` before the rounds (printed), so both hold about as many requests in flight.
  Those means are the server-side ones of ``/metrics`` (``models[model].latency_seconds``: the
  engine's settled first token and mean ITL of every engine-timed answer, measured from the request's
  arrival): on a saturated loop they include the time a request waits for the loop before its core
  call reaches the engine (~100 ms at 4096 connections; more on a busier machine, so the calibration
  is printed), which fixed timing, counted from the same arrival, absorbs. ``fixed-sat`` keeps the
  model's spread (``--jitter`` unset: +-10 % per delay, fixed timing as it ships); ``fixed-sat-0``
  (``--jitter 0``) is the same with no spread: its answers all take the same time and leave in the
  order they came, which costs the server ~10-25 % less CPU per request than a spread does (perf: the
  extra is thin everywhere, most in Python's allocator, frame evaluation and coroutine sends, as when
  memory freed out of order is reused from colder pools; the engine's answers, like real ones, vary).
  "x base" (requests/s over ``fixed-sat``'s) is the engine's throughput cost, the figure issue #18
  sets >= 0.9. ``base-engine-sat`` runs the same engine from another build (``--base-site DIR``) in
  the same run: before/after figures side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

from fakeai.runtime.process import children, free_port, group_cpu_seconds, spawn, stop

HERE = Path(__file__).resolve().parent
USER_MESSAGE = (
    "Summarise the trade-offs between latency and throughput when batching requests on an inference "
    "server, and say which metric a gateway team should watch first under load."
)
CHAT = "/v1/chat/completions"
CHAT_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": USER_MESSAGE}], "max_tokens": 16}
#: One 1536-dim float embedding (~20 KB of JSON) for the same text.
EMBED_BODY = {"model": "text-embedding-3-small", "input": USER_MESSAGE}
IMAGE_BODY = {
    "model": "dall-e-2",
    "prompt": "a lighthouse on a cliff at dusk",
    "size": "1024x1024",
    "response_format": "b64_json",
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
        },
    },
}
#: Anthropic's Messages API and OpenAI's Responses API asked the same as chat (Responses stores each
#: answer, as ``store`` defaults to true: ``responses-nostore`` sends ``store: false``).
MESSAGES_BODY = {
    "model": "claude-3-5-sonnet-latest",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": USER_MESSAGE}],
}
ANTHROPIC = {"anthropic-version": "2023-06-01"}
RESPONSES_BODY = {"model": "gpt-4o", "input": USER_MESSAGE, "max_output_tokens": 16}
#: A chat that always answers with a tool call.
TOOLS_BODY = {**CHAT_BODY, "tools": [WEATHER_TOOL], "tool_choice": "required"}
#: Auth plus request and token limits far above what a run can reach, so every request is admitted (and
#: pays for the key check, both bucket takes and the x-ratelimit-* headers).
GATEWAY_KEY = "sk-bench-0123456789abcdef"


@dataclass(frozen=True)
class Variant:
    """One server configuration and request to measure, and what its ratio is taken against."""

    label: str
    baseline: str  # another variant's name, a floor's, or "" for a floor
    flags: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    path: str = CHAT
    body: dict = field(default_factory=lambda: CHAT_BODY)
    api_key: str | None = None
    #: Further request headers (``anthropic-version`` for Anthropic's route).
    headers: dict[str, str] = field(default_factory=dict)
    #: The server's timing flags.
    latency: tuple[str, ...] = ("--ttft", "0", "--itl", "0")
    #: wrk's connections for this target (default: ``--connections``).
    connections: int | None = None
    #: Another variant whose mean TTFT and ITL, measured by a calibration run before the rounds, become
    #: this one's fixed ``--ttft``/``--itl`` (so both hold the same requests in flight at that load).
    latency_of: str | None = None
    #: A floor: the bare app granian serves (``module:attribute`` in benches/) instead of fakeai, and
    #: granian's interface for it.
    app: str | None = None
    interface: str = "asgi"


#: A model whose architecture the engine model knows.
LLAMA_BODY = {**CHAT_BODY, "model": "meta-llama/Llama-3.1-8B-Instruct"}

#: wrk connections that keep the server's core busy: at this load a request spends ~0.4-0.5 s in the
#: server (the engine's latency), so ~6-8k requests/s per core need ~3-4k in flight.
SATURATING = 4096
#: Engine replicas for the saturated pair: up to 128 sequences each at 4096 connections, well inside a
#: replica's 256, so the simulated GPUs are not what limits requests/s.
SAT_REPLICAS = 32
#: What the official openai SDK sends by default (it decodes the base64 itself).
EMBED_B64_BODY = {**EMBED_BODY, "encoding_format": "base64"}

#: A legacy completion of the same size as the chat request's answer.
COMPLETION_BODY = {"model": "gpt-3.5-turbo-instruct", "prompt": USER_MESSAGE, "max_tokens": 16}

#: The floors: bare granian apps that read the body and answer fixed bytes (benches/bare_*.py).
FLOORS: dict[str, Variant] = {
    "floor": Variant("bare ASGI floor 660 B", "", app="bare_asgi:app"),
    "floor-rsgi": Variant("bare RSGI floor 660 B", "", app="bare_rsgi:app", interface="rsgi"),
    # the chat floor reading only the content-length bytes, as the Rust hot path does
    "floor-length": Variant("bare ASGI floor 660 B, reads content-length", "", app="bare_asgi:app_length"),
    "floor-19k": Variant("bare ASGI floor 19 KB", "", app="bare_asgi:app_embeddings"),
    "floor-21k": Variant("bare ASGI floor 21 KB", "", app="bare_asgi:app_embeddings_grid"),
    "floor-19k-rsgi": Variant("bare RSGI floor 19 KB", "", app="bare_rsgi:app_embeddings", interface="rsgi"),
}

VARIANTS: dict[str, Variant] = {
    **FLOORS,
    "chat": Variant("fakeai chat", "floor"),
    "embeddings": Variant("fakeai embeddings 1536", "floor", path="/v1/embeddings", body=EMBED_BODY),
    "embeddings-b64": Variant(
        "fakeai embeddings 1536 base64", "floor", path="/v1/embeddings", body=EMBED_B64_BODY
    ),
    "completions": Variant("fakeai completions", "floor", path="/v1/completions", body=COMPLETION_BODY),
    # The Rust hot path (fakeai.api.hot) against the Python chain alone, same build, same run.
    "python-chain": Variant("fakeai chat --no-hot-path", "chat", flags=("--no-hot-path",)),
    "messages": Variant(
        "fakeai anthropic messages", "floor", path="/v1/messages", body=MESSAGES_BODY, headers=ANTHROPIC
    ),
    "messages-python": Variant(
        "fakeai anthropic messages --no-hot-path",
        "messages",
        flags=("--no-hot-path",),
        path="/v1/messages",
        body=MESSAGES_BODY,
        headers=ANTHROPIC,
    ),
    "responses": Variant("fakeai responses (stored)", "floor", path="/v1/responses", body=RESPONSES_BODY),
    "responses-python": Variant(
        "fakeai responses (stored) --no-hot-path",
        "responses",
        flags=("--no-hot-path",),
        path="/v1/responses",
        body=RESPONSES_BODY,
    ),
    "responses-nostore": Variant(
        "fakeai responses store: false",
        "responses",
        path="/v1/responses",
        body={**RESPONSES_BODY, "store": False},
    ),
    "echo": Variant("fakeai chat --mode echo", "chat", flags=("--mode", "echo")),
    "tools": Variant("fakeai chat with a tool call", "chat", body=TOOLS_BODY),
    "image": Variant("fakeai image 1024 b64", "chat", path="/v1/images/generations", body=IMAGE_BODY),
    "metrics-off": Variant("fakeai chat --no-metrics", "floor", env={"FAKEAI_METRICS": "off"}),
    "access-log": Variant("fakeai chat --access-log", "chat", flags=("--access-log",)),
    # the python package of another checkout (--ref DIR, its compiled _core beside it), same flags
    "ref": Variant("fakeai chat from --ref", "chat"),
    "ref-python-chain": Variant(
        "fakeai chat --no-hot-path from --ref", "python-chain", flags=("--no-hot-path",)
    ),
    "ref-embeddings": Variant(
        "fakeai embeddings from --ref", "embeddings", path="/v1/embeddings", body=EMBED_BODY
    ),
    "ref-embeddings-b64": Variant(
        "fakeai embeddings b64 from --ref",
        "embeddings-b64",
        path="/v1/embeddings",
        body=EMBED_B64_BODY,
    ),
    "ref-responses": Variant(
        "fakeai responses (stored) from --ref", "responses", path="/v1/responses", body=RESPONSES_BODY
    ),
    "metrics-on": Variant("fakeai chat, metrics on", "metrics-off"),
    "gateway": Variant(
        "fakeai chat auth+rate limits",
        "chat",
        api_key=GATEWAY_KEY,
        flags=("--api-key", GATEWAY_KEY, "--rpm", "1000000000", "--tpm", "1000000000000"),
    ),
    # Another build of fakeai (--base-site): its chat, and this build's chat measured against it.
    "base": Variant("fakeai chat (--base-site build)", "floor"),
    "vs-base": Variant("fakeai chat (this build)", "base"),
    # KV events need --workers 1 (one PUB socket per bound endpoint).
    "kv-events": Variant("fakeai chat --kv-events", "chat", flags=("--kv-events", "tcp://127.0.0.1:25557")),
    "fixed-timed": Variant(
        "fakeai chat 8B fixed 30/8 ms",
        "floor",
        body=LLAMA_BODY,
        latency=("--ttft", "30", "--itl", "8", "--jitter", "0"),
    ),
    "engine": Variant("fakeai chat 8B engine model", "fixed-timed", body=LLAMA_BODY, latency=()),
    # A timed answer: rendered on the Rust path and paced by the Python pacer, against the Python chain.
    "fixed-timed-python": Variant(
        "fakeai chat 8B fixed 30/8 ms --no-hot-path",
        "fixed-timed",
        flags=("--no-hot-path",),
        body=LLAMA_BODY,
        latency=("--ttft", "30", "--itl", "8", "--jitter", "0"),
    ),
    # Throughput: both saturate the server's core. The engine deployment has replicas enough that the
    # simulated GPUs are not the limit; the fixed variant takes the engine's mean TTFT/ITL at this load.
    # Fixed timing as it ships: the model's spread (+-10 % per delay) around the calibrated means.
    "fixed-sat": Variant(
        "fakeai chat 8B fixed, saturated",
        "floor",
        flags=("--kv-batch-size", "0"),  # no batch-slot queue: fixed timing's latency stays fixed
        body=LLAMA_BODY,
        connections=SATURATING,
        latency_of="engine-sat",
    ),
    # The same with no spread (--jitter 0): every answer takes the same time, so answers leave in
    # the order they came, which is cheaper for the server (see the module docstring).
    "fixed-sat-0": Variant(
        "fakeai chat 8B fixed --jitter 0, saturated",
        "fixed-sat",
        flags=("--kv-batch-size", "0", "--jitter", "0"),
        body=LLAMA_BODY,
        connections=SATURATING,
        latency_of="engine-sat",
    ),
    # The saturated engine run by another build (--base-site), beside this build's in the same run.
    "base-engine-sat": Variant(
        "fakeai chat 8B engine, sat. (--base-site)",
        "fixed-sat",
        flags=("--replicas", str(SAT_REPLICAS)),
        body=LLAMA_BODY,
        latency=(),
        connections=SATURATING,
    ),
    "engine-sat": Variant(
        "fakeai chat 8B engine, saturated",
        "fixed-sat",
        flags=("--replicas", str(SAT_REPLICAS)),
        body=LLAMA_BODY,
        latency=(),
        connections=SATURATING,
    ),
}

#: Another build of fakeai (--base-site) beside this one for more requests than chat: ``base-X`` runs
#: X from that build (against X's baseline), ``vs-base-X`` this build's X against it.
for _name in ("embeddings", "embeddings-b64", "completions"):
    _v = VARIANTS[_name]
    VARIANTS[f"base-{_name}"] = replace(_v, label=f"{_v.label} (--base-site)")
    VARIANTS[f"vs-base-{_name}"] = replace(_v, label=f"{_v.label} (this build)", baseline=f"base-{_name}")
#: The variants that run the --base-site build.
BASE_RUNS = [name for name in VARIANTS if name.startswith("base")]


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    #: Server CPU time (user + system, all its processes) per request, microseconds.
    cpu_us: float = 0.0
    #: Server CPU time over the run's wall time (1.0: one core busy all the time).
    busy: float = 0.0
    #: The workers' event-loop threads' time running or waiting for a CPU, over the run's wall time
    #: (mean per worker): ~1.0 when the loop never waited for work (saturated), even while other
    #: processes take part of its core (then ``busy`` < 1).
    loop: float = 0.0


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def cpus(workers: int, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for the server (CPUs 0..workers-1) and for wrk (the last CPU); empty when
    not pinning."""
    n = os.cpu_count() or 1
    if args.no_pin or n < 2 or shutil.which("taskset") is None:
        return [], []
    server = ",".join(str(c) for c in range(min(workers, n)))
    return ["taskset", "-c", server], ["taskset", "-c", str(n - 1)]


def wrk(port: int, v: Variant, duration: int, args: argparse.Namespace, pin: list[str]) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(v.body))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            + (f'wrk.headers["Authorization"] = "Bearer {v.api_key}"\n' if v.api_key else "")
            + "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(x)}\n" for k, x in v.headers.items())
        )
    out = subprocess.run(
        [
            *pin,
            "wrk",
            f"-t{args.threads}",
            f"-c{v.connections or args.connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}{v.path}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return Result("", rps, _ms(*p50.groups()), _ms(*p99.groups()), errors, requests)


def loop_seconds(pids: set[int]) -> float:
    """Seconds the main threads of ``pids`` (a granian worker's event loop) spent on a CPU or runnable
    waiting for one (``/proc/PID/schedstat``: run time, run-queue delay), summed."""
    total = 0
    for pid in pids:
        try:
            run, delay = Path(f"/proc/{pid}/schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        total += int(run) + int(delay)
    return total / 1e9


def latency_sums(port: int, model: str) -> dict[str, tuple[int, float]]:
    """``{"ttft": (count, sum_seconds), "itl": ...}`` of ``model`` so far, from ``GET /metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        seconds = json.load(r)["models"][model]["latency_seconds"]
    return {k: (seconds[k]["count"], seconds[k]["count"] * seconds[k]["mean"]) for k in ("ttft", "itl")}


def window_means(
    before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]]
) -> tuple[float, ...]:
    """Mean TTFT and ITL (ms) of the requests counted between two :func:`latency_sums`."""
    return tuple(
        (after[k][1] - before[k][1]) / max(after[k][0] - before[k][0], 1) * 1e3 for k in ("ttft", "itl")
    )


def measure(
    name: str, v: Variant, workers: int, args: argparse.Namespace, latency: list | None = None
) -> Result:
    """One target's run; with ``latency`` (a list) its model's mean TTFT and ITL over the measured
    window (not the warm-up's burst of connections) are appended to it."""
    port = free_port()
    if v.app is not None:
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            v.interface,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            v.app,
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "fakeai",
            "server",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *v.latency,
            "--log-level",
            "warning",
            *v.flags,
        ]
    server_pin, client_pin = cpus(workers, args)
    proc = spawn([*server_pin, *cmd], port, v.env, cwd=HERE)
    time.sleep(0.5)
    try:
        wrk(port, v, 1, args, client_pin)  # warm-up
        sums = latency_sums(port, v.body["model"]) if latency is not None else {}
        loops = children(proc.pid) or {proc.pid}
        cpu, loop, began = group_cpu_seconds(proc.pid), loop_seconds(loops), time.monotonic()
        result = wrk(port, v, args.duration, args, client_pin)
        used, wall = group_cpu_seconds(proc.pid) - cpu, time.monotonic() - began
        result.cpu_us = used / max(result.requests, 1) * 1e6
        result.busy = used / wall
        result.loop = (loop_seconds(loops) - loop) / wall / len(loops)
        if latency is not None:
            latency.append(window_means(sums, latency_sums(port, v.body["model"])))
    finally:
        stop(proc)
    result.name = f"{v.label} ({workers}w)"
    return result


def median(results: list[Result]) -> Result:
    mid = statistics.median
    return replace(
        results[0],
        rps=mid(r.rps for r in results),
        p50_ms=mid(r.p50_ms for r in results),
        p99_ms=mid(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
        cpu_us=mid(r.cpu_us for r in results),
        busy=mid(r.busy for r in results),
        loop=mid(r.loop for r in results),
    )


def with_baselines(names: list[str]) -> list[str]:
    """``names`` plus every baseline they need, baselines first."""
    out: list[str] = []

    def add(name: str) -> None:
        if VARIANTS[name].baseline:
            add(VARIANTS[name].baseline)
        if name not in out:
            out.append(name)

    for name in names:
        add(name)
    return out


def report_floors(rows: list[tuple[str, Result, Result | None]], floors: list[str]) -> None:
    """Each fakeai target's requests/s (and CPU per request) as a ratio of each floor's, per worker
    count: ``req/s x floor`` (>= 0.8 is issue #16's target against the 660-byte ASGI floor)."""
    by_workers: dict[str, dict[str, Result]] = {}
    for name, r, _ in rows:
        by_workers.setdefault(r.name.rsplit(" (", 1)[1], {})[name] = r
    print(f"\n{'req/s x floor (cpu x floor)':40} " + " ".join(f"{f:>18}" for f in floors))
    for measured in by_workers.values():
        for name, r in measured.items():
            if name in FLOORS:
                continue
            cells = []
            for f in floors:
                base = measured.get(f)
                cells.append(
                    f"{r.rps / base.rps:8.3f} ({base.cpu_us / r.cpu_us:6.3f})"
                    if base and r.cpu_us
                    else f"{'':18}"
                )
            print(f"{r.name:40} " + " ".join(cells))


def report(rows: list[tuple[str, Result, Result | None]]) -> None:
    print(
        f"{'target':40} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'cpu us/req':>10} {'busy':>5} {'loop':>5} "
        f"{'x base':>7} {'cpu x base':>10}  baseline"
    )
    for _, r, base in rows:
        ratio = f"{r.rps / base.rps:7.3f}" if base else f"{'':7}"
        cpu = f"{base.cpu_us / r.cpu_us:10.3f}" if base and r.cpu_us else f"{'':10}"
        print(
            f"{r.name:40} {r.rps:9.0f} {r.p50_ms:7.2f} {r.p99_ms:7.2f} {r.errors:6d} {r.cpu_us:10.1f} {r.busy:5.2f} {r.loop:5.2f} "
            f"{ratio} {cpu}  {base.name if base else ''}"
        )


def calibrated(
    v: Variant,
    source: str,
    workers: int,
    args: argparse.Namespace,
    known: dict[tuple[str, int | None, int], tuple[float, float]],
) -> Variant:
    """``v`` with fixed timing at ``source``'s mean TTFT and ITL, measured by a run of ``source`` at
    ``v``'s connections before the rounds (once per source, connections and workers: ``known``)."""
    key = (source, v.connections, workers)
    if key not in known:
        got: list[tuple[float, float]] = []
        probe = replace(VARIANTS[source], connections=v.connections)
        measure(
            source,
            probe,
            workers,
            argparse.Namespace(**{**vars(args), "duration": max(3, args.duration // 2)}),
            got,
        )
        known[key] = got[0]
    ttft, itl = known[key]
    print(f"{v.label} ({workers}w): --ttft {ttft:.1f} --itl {itl:.2f}, {source}'s means", flush=True)
    return replace(v, latency=("--ttft", f"{ttft:.1f}", "--itl", f"{itl:.2f}"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["chat"],
        choices=list(VARIANTS),
        help="what to measure (their baselines are measured too; default: chat)",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="measurements of each target (median; default 1)"
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (default 1: leave a core to the server)"
    )
    parser.add_argument(
        "--ref",
        metavar="DIR",
        help="for the 'ref' variant: a python/ directory of another checkout (e.g. before a change), "
        "with its fakeai/_core.abi3.so built or copied in; served with the same flags",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server (CPUs 0..workers-1) and wrk (the last CPU) with taskset",
    )
    parser.add_argument(
        "--floors",
        nargs="+",
        default=[],
        choices=list(FLOORS),
        help="floors to measure too, each fakeai target reported as a ratio of each of them",
    )
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    parser.add_argument(
        "--base-site",
        help="site directory holding another fakeai build (pip install --no-deps --target DIR CHECKOUT): "
        "the 'base' variant runs it",
    )
    args = parser.parse_args()
    for name in ("ref", "ref-python-chain", "ref-embeddings", "ref-embeddings-b64", "ref-responses"):
        if name in args.variants:
            if not args.ref:
                sys.exit(f"the {name} variant needs --ref DIR")
            VARIANTS[name] = replace(VARIANTS[name], env={"PYTHONPATH": str(Path(args.ref).resolve())})
    base_runs = [name for name in with_baselines(args.variants) if name in BASE_RUNS]
    if args.base_site:
        for name in BASE_RUNS:
            VARIANTS[name] = replace(VARIANTS[name], env={"PYTHONPATH": os.path.abspath(args.base_site)})
    elif base_runs:
        sys.exit(f"the {' and '.join(base_runs)} variants need --base-site DIR")
    if args.list:
        for name, v in VARIANTS.items():
            print(f"{name:12} {v.label:32} baseline: {v.baseline}")
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    rows = []
    known: dict[tuple[str, int | None, int], tuple[float, float]] = {}
    for workers in args.workers:
        names = with_baselines([*args.floors, *args.variants])
        for name in names:
            if (source := VARIANTS[name].latency_of) is not None:
                VARIANTS[name] = calibrated(VARIANTS[name], source, workers, args, known)
        runs: dict[str, list[Result]] = {name: [] for name in names}
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else reversed(names):
                runs[name].append(measure(name, VARIANTS[name], workers, args))
        results = {name: median(rs) for name, rs in runs.items()}
        for name in names:
            base = results[VARIANTS[name].baseline] if VARIANTS[name].baseline else None
            rows.append((name, results[name], base))
    report(rows)
    if args.floors:
        report_floors(rows, args.floors)
    for workers in args.workers:
        server_pin, client_pin = cpus(workers, args)
        if server_pin:
            print(f"{workers}w: server on CPU {server_pin[-1]}, wrk on CPU {client_pin[-1]}")


if __name__ == "__main__":
    main()
