"""Closing connections that never send a request: the idle timeout and connection limit granian lacks.

granian (hyper) times a connection out only once it has sent a byte: ``--header-read-timeout`` closes
one that is slow to send a request head (slowloris) or that idles between kept-alive requests (and
``--body-read-timeout``, :mod:`fakeai.http.body_timeout`, one whose request body stops arriving). A
connection that connects and then sends nothing is kept forever, holding a descriptor of the worker that
accepted it, and granian has no connection limit: some 20,000 of them exhaust a worker's descriptors
and ``/health`` stops answering. So each worker process runs a reaper thread that looks at its own
TCP connections on the served port every few seconds (``/proc/self/fd`` and ``TCP_INFO``, Linux only)
and shuts down those that have received no byte since they were opened:

1. every such connection older than ``--idle-timeout`` seconds;
2. then, while the worker holds more than ``--max-connections`` connections, the oldest of the
   remaining silent ones (connections that sent a request are never cut for the limit: they may be
   waiting for a long answer).

A shut-down socket reads end-of-file in granian, which closes it and frees its descriptor; the reaper
never closes a descriptor itself, so it cannot close one granian has meanwhile reused. The scan runs
in its own thread and costs a few microseconds per connection.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
import threading

log = logging.getLogger("fakeai")

#: ``struct tcp_info`` (linux/tcp.h): state (u8, offset 0), last_data_recv (u32 ms, offset 52),
#: bytes_received (u64, offset 128, Linux 4.1+).
_TCP_INFO_SIZE = 136
_ESTABLISHED = 1
#: Longest pause between two scans, seconds.
MAX_PERIOD = 5.0


class Silent:
    """A connection that has received nothing: its descriptor and its age (ms)."""

    __slots__ = ("age_ms", "fd")

    def __init__(self, fd: int, age_ms: int) -> None:
        self.fd, self.age_ms = fd, age_ms


def scan(port: int) -> tuple[int, list[Silent]]:
    """``(connections on local port, the silent ones)`` among this process's sockets."""
    total, silent = 0, []
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return 0, []
    for name in names:
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            dup = os.dup(fd)
        except OSError:
            continue
        try:
            with socket.socket(fileno=dup) as s:
                if s.type != socket.SOCK_STREAM or s.family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                if s.getsockname()[1] != port:
                    continue
                info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
        except OSError:
            continue
        if len(info) < _TCP_INFO_SIZE or info[0] != _ESTABLISHED:
            continue  # the listening socket, or one closing
        total += 1
        (last_recv_ms,) = struct.unpack_from("I", info, 52)
        (received,) = struct.unpack_from("Q", info, 128)
        if received == 0:
            silent.append(Silent(fd, last_recv_ms))
    return total, silent


def to_cut(total: int, silent: list[Silent], idle_ms: int, limit: int) -> list[Silent]:
    """The silent connections to shut down: those past ``idle_ms`` (0: none), then the oldest while
    more than ``limit`` (0: no limit) connections remain."""
    silent = sorted(silent, key=lambda c: -c.age_ms)
    cut = [c for c in silent if idle_ms and c.age_ms >= idle_ms]
    over = total - len(cut) - limit if limit else 0
    if over > 0:
        cut += silent[len(cut) : len(cut) + over]
    return cut


def _shutdown(fd: int) -> None:
    try:
        with socket.socket(fileno=os.dup(fd)) as s:
            s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Reaper:
    """The reaper thread of one worker process (see the module docs)."""

    def __init__(self, port: int, idle_timeout_s: float, max_connections: int) -> None:
        self.port = port
        self.idle_ms = round(idle_timeout_s * 1000)
        self.limit = max_connections
        self.period = min(MAX_PERIOD, idle_timeout_s / 4) if idle_timeout_s else MAX_PERIOD
        self.stopped = threading.Event()
        self.closed = 0

    @property
    def needed(self) -> bool:
        return sys.platform.startswith("linux") and self.port > 0 and bool(self.idle_ms or self.limit)

    def start(self) -> None:
        if self.needed:
            threading.Thread(target=self.run, name="fakeai-reaper", daemon=True).start()

    def run(self) -> None:
        while not self.stopped.wait(self.period):
            self.sweep()

    def sweep(self) -> int:
        total, silent = scan(self.port)
        cut = to_cut(total, silent, self.idle_ms, self.limit)
        for c in cut:
            _shutdown(c.fd)
        if cut:
            self.closed += len(cut)
            log.debug("closed %d silent connection(s) of %d", len(cut), total)
        return len(cut)
