"""HTTP load benchmark: fakeai against the bare-ASGI floor, side by side in one run, with wrk.

    python benches/http_load.py                 # chat, 1 worker, then 2 workers
    python benches/http_load.py --duration 5 --connections 64 --workers 1
    python benches/http_load.py --workers 1 --scenario chat tools   # a tool-calling chat beside plain chat

Each target is started as a real server on a free loopback port, loaded with ``wrk`` for a bounded
time, then stopped. Printed: requests/s, p50 and p99 latency, and each fakeai figure as a ratio of the
bare floor measured in the same run. Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
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
#: Request bodies by scenario name (``--scenario``); ``tools`` always answers with a tool call.
SCENARIOS = {
    "chat": CHAT_BODY,
    "tools": {**CHAT_BODY, "tools": [WEATHER_TOOL], "tool_choice": "required"},
}


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


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
    return Result("", rps, _ms(*p50.groups()), _ms(*p99.groups()), errors)


def run_target(name: str, cmd: list[str], port: int, env: dict[str, str] | None, args: argparse.Namespace,
               path: str = "/v1/chat/completions", body: dict | None = None) -> Result:
    proc = start(cmd, port, env)
    try:
        wrk(port, path, body or CHAT_BODY, 1, args.connections, args.threads)  # warm-up
        result = wrk(port, path, body or CHAT_BODY, args.duration, args.connections, args.threads)
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
           scenario: str = "chat") -> Result:
    port = free_port()
    cmd = [sys.executable, "-m", "fakeai", "server", "--port", str(port), "--workers", str(workers),
           "--ttft", "0", "--itl", "0", "--log-level", "warning"]
    name = f"fakeai {scenario}{label} ({workers}w)"
    return run_target(name, cmd, port, env, args, body=SCENARIOS[scenario])


def report(rows: list[tuple[Result, Result]]) -> None:
    print(f"{'target':32} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'x floor':>8}")
    for result, floor in rows:
        ratio = result.rps / floor.rps
        print(f"{result.name:32} {result.rps:10.0f} {result.p50_ms:8.2f} {result.p99_ms:8.2f} "
              f"{result.errors:7d} {ratio:8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: leave a core to the server)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scenario", nargs="+", choices=sorted(SCENARIOS), default=["chat"],
                        help="request bodies to load fakeai with, each beside the same floor (default: chat)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    rows = []
    for workers in args.workers:
        floor = bare(workers, args)
        rows += [(floor, floor)] + [(fakeai(workers, args, scenario=s), floor) for s in args.scenario]
    report(rows)


if __name__ == "__main__":
    main()
