"""HTTP load benchmark: fakeai against the bare-ASGI floor, side by side in one run, with wrk.

    python benches/http_load.py                 # chat, 1 worker, then 2 workers
    python benches/http_load.py --duration 5 --connections 64 --workers 1
    python benches/http_load.py --modes random echo     # chat in --mode random and --mode echo, same run
    python benches/http_load.py --scenarios chat image   # plus a 1024x1024 b64_json image generation
    python benches/http_load.py --metrics       # chat with metrics recording on vs --metrics off

Each target is started as a real server on a free loopback port, loaded with ``wrk`` for a bounded
time, then stopped. Printed: requests/s, p50 and p99 latency, and each fakeai figure as a ratio of the
bare floor measured in the same run; also the server's CPU time per request (all its processes, from
/proc) and the baseline's CPU per request over it, a capacity ratio that other load on a shared
machine disturbs far less than requests/s. Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
USER_MESSAGE = (
    "Summarise the trade-offs between latency and throughput when batching requests on an inference "
    "server, and say which metric a gateway team should watch first under load."
)
CHAT_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": USER_MESSAGE}], "max_tokens": 16}
IMAGE_BODY = {"model": "dall-e-2", "prompt": "a lighthouse on a cliff at dusk", "size": "1024x1024",
              "response_format": "b64_json"}
#: Extra fakeai scenarios beside plain chat: (label, path, body).
SCENARIOS = {"image": (" image 1024 b64", "/v1/images/generations", IMAGE_BODY)}


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def start(cmd: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, cwd=HERE, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_ready(port)
    time.sleep(0.5)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(port: int, path: str, body: dict, duration: int, connections: int, threads: int) -> Result:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    script.close()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name,
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=duration + 30, check=True,
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


def cpu_seconds(group: int) -> float:
    """User + system CPU seconds of every live process in process group ``group`` (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def run_target(name: str, cmd: list[str], port: int, env: dict[str, str] | None, args: argparse.Namespace,
               path: str = "/v1/chat/completions", body: dict | None = None) -> Result:
    proc = start(cmd, port, env)
    try:
        wrk(port, path, body or CHAT_BODY, 1, args.connections, args.threads)  # warm-up
        cpu = cpu_seconds(proc.pid)
        result = wrk(port, path, body or CHAT_BODY, args.duration, args.connections, args.threads)
        result.cpu_us = (cpu_seconds(proc.pid) - cpu) / max(result.requests, 1) * 1e6
    finally:
        stop(proc)
    result.name = name
    return result


def bare(workers: int, args: argparse.Namespace) -> Result:
    port = free_port()
    cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(port), "--workers", str(workers),
           "--log-level", "warning", "bare_asgi:app"]
    return run_target(f"bare ASGI floor ({workers}w)", cmd, port, None, args)


def fakeai(workers: int, args: argparse.Namespace, env: dict[str, str] | None = None, label: str = "",
           flags: tuple[str, ...] = (), path: str = "/v1/chat/completions", body: dict | None = None) -> Result:
    port = free_port()
    cmd = [sys.executable, "-m", "fakeai", "server", "--port", str(port), "--workers", str(workers),
           "--ttft", "0", "--itl", "0", "--log-level", "warning", *flags]
    name = f"fakeai{label} ({workers}w)" if body else f"fakeai chat{label} ({workers}w)"
    return run_target(name, cmd, port, env, args, path, body)


def median(name: str, results: list[Result]) -> Result:
    """The median of each figure over repeated measurements (robust to a burst of other load)."""
    def mid(values: list[float]) -> float:
        return statistics.median(values)

    return Result(name, mid([r.rps for r in results]), mid([r.p50_ms for r in results]),
                  mid([r.p99_ms for r in results]), sum(r.errors for r in results),
                  sum(r.requests for r in results), mid([r.cpu_us for r in results]))


def metrics_on_off(workers: int, args: argparse.Namespace) -> tuple[Result, Result]:
    """fakeai chat with metrics recording off and on, alternating (off, on, on, off, ...) so that drift
    in the machine's load falls on both alike; each the median of ``--rounds`` measurements."""
    runs: dict[str, list[Result]] = {"off": [], "on": []}
    for r in range(args.rounds):
        for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):
            runs[mode].append(fakeai(workers, args, {"FAKEAI_METRICS": mode}, f" metrics {mode}"))
    return median(f"fakeai chat metrics off ({workers}w)", runs["off"]), median(
        f"fakeai chat metrics on ({workers}w)", runs["on"])


def report(rows: list[tuple[Result, Result]], baseline: str = "x floor") -> None:
    print(f"{'target':32} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {baseline:>8} "
          f"{'cpu us/req':>10} {'cpu ' + baseline:>10}")
    for result, floor in rows:
        ratio = result.rps / floor.rps
        cpu_ratio = floor.cpu_us / result.cpu_us if result.cpu_us else 0.0
        print(f"{result.name:32} {result.rps:10.0f} {result.p50_ms:8.2f} {result.p99_ms:8.2f} "
              f"{result.errors:7d} {ratio:8.3f} {result.cpu_us:10.1f} {cpu_ratio:10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leave a core to the server)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--modes", nargs="+", choices=["random", "echo"], default=["random"],
                        help="fakeai --mode values to measure side by side (default: random)")
    parser.add_argument("--scenarios", nargs="+", default=["chat"], choices=["chat", *SCENARIOS],
                        help="fakeai loads to measure beside the floor (default: chat)")
    parser.add_argument("--metrics", action="store_true",
                        help="compare chat with metrics recording on against --metrics off instead of the floor")
    parser.add_argument("--rounds", type=int, default=2, help="measurements of each mode with --metrics (default 2)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    rows = []
    if args.metrics:
        for workers in args.workers:
            off, on = metrics_on_off(workers, args)
            rows += [(off, off), (on, off)]
        report(rows, baseline="x off")
        return
    for workers in args.workers:
        floor = bare(workers, args)
        rows.append((floor, floor))
        for mode in args.modes:
            label = f" --mode {mode}" if len(args.modes) > 1 else ""
            rows.append((fakeai(workers, args, label=label, flags=("--mode", mode)), floor))
        for scenario in args.scenarios:
            if scenario in SCENARIOS:
                label, path, body = SCENARIOS[scenario]
                rows.append((fakeai(workers, args, label=label, path=path, body=body), floor))
    report(rows)


if __name__ == "__main__":
    main()
