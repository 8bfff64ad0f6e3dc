"""Connection storm: ``/health`` keeps answering while thousands of connections idle or drip headers.

    python benches/connection_storm.py                    # 8,000 idle + 2,000 slowloris, --workers 2
    python benches/connection_storm.py --idle 2000 --slow 500 --seconds 10

Starts ``fakeai server --workers 2``, opens ``--idle`` connections that never send a byte and
``--slow`` slowloris connections that send one header line every second and never finish their head,
then, for ``--seconds``, times ``GET /health`` on a fresh connection every 20 ms. One line: how many
storm connections were opened, the ``/health`` p50/p99/max and failures, and how many storm
connections the server had closed by the end (silent ones after ``--idle-timeout``, slow ones after
``--header-read-timeout``; both set short here so that the run sees them go). Pass: p99 under 200 ms
and no failure. The client raises its own descriptor limit to fit the storm.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import sys
import time

from fakeai.runtime.process import free_port, running_server

P99_BUDGET_MS = 200.0


def open_storm(port: int, idle: int, slow: int) -> tuple[list[socket.socket], list[socket.socket]]:
    def connect() -> socket.socket | None:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            return s
        except OSError:
            return None

    idles = [s for s in (connect() for _ in range(idle)) if s]
    slows = [s for s in (connect() for _ in range(slow)) if s]
    for s in slows:
        try:
            s.send(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        except OSError:
            pass
    return idles, slows


def health_ms(port: int) -> float | None:
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            if not s.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return (time.perf_counter() - start) * 1000


def closed(s: socket.socket) -> bool:
    try:
        return s.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=int, default=8000)
    parser.add_argument("--slow", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    flags = ("--workers", str(args.workers), "--idle-timeout", "8", "--header-read-timeout", "8")
    port = free_port()
    with running_server(*flags, port=port):
        idles, slows = open_storm(port, args.idle, args.slow)
        times: list[float] = []
        failures = 0
        deadline = time.monotonic() + args.seconds
        next_drip = time.monotonic() + 1
        while time.monotonic() < deadline:
            ms = health_ms(port)
            if ms is None:
                failures += 1
            else:
                times.append(ms)
            if time.monotonic() >= next_drip:
                next_drip += 1
                for s in slows:
                    try:
                        s.send(b"x-drip: 1\r\n")
                    except OSError:
                        pass
            time.sleep(0.02)
        idle_closed = sum(closed(s) for s in idles)
        slow_closed = sum(closed(s) for s in slows)
        for s in idles + slows:
            s.close()
    times.sort()
    p50 = statistics.median(times) if times else float("nan")
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else float("nan")
    ok = bool(times) and failures == 0 and p99 < P99_BUDGET_MS
    print(
        f"connection storm: {len(idles)} idle + {len(slows)} slowloris open; /health over {args.seconds:.0f} s: "
        f"{len(times)} ok, {failures} failed, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {times[-1] if times else 0:.1f} ms; "
        f"closed by the server: {idle_closed} idle, {slow_closed} slowloris; {'PASS' if ok else 'FAIL'}"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
