"""Closing connections that never make a request: the timeouts and connection limit granian lacks.

granian (hyper) closes a connection slow to send its request head (slowloris), or idle between
kept-alive requests, after ``--header-read-timeout`` (and ``--body-read-timeout``,
:mod:`fakeai.http.body_timeout`, one whose request body stops arriving), but only once it knows the
protocol: it first reads the start of the HTTP/2 preface (``PRI * HTTP/2.0...``, 24 bytes) with no
timer. So a connection that sends nothing, or a proper prefix of that preface (a single ``P``), was
kept forever; over TLS, so was one that sent only part of its ClientHello. Each holds a descriptor of
the worker that accepted it, and granian has no connection limit: enough of them exhaust a worker's
descriptors and ``/health`` stops answering. So each worker process runs a reaper thread that looks at
its own TCP connections on the served port every few seconds (``/proc/self/fd`` and ``TCP_INFO``,
Linux only). A connection nothing was sent on yet (``tcpi_bytes_acked == 0``) is *pending* when it

- has received no byte (*silent*), or
- has received fewer bytes than the HTTP/2 preface (any request head granian would serve is past its
  detection by then, and one that waits for an answer is longer), or any bytes at all over TLS (the
  handshake was never answered): its request head is not complete.

The reaper shuts down

1. every silent connection open ``--idle-timeout`` seconds (0: never);
2. every other pending one open ``--header-read-timeout`` seconds;
3. then, while the worker holds more than ``--max-connections`` connections, the oldest remaining
   pending ones. A connection that made a request is never cut, whatever its age: it may be uploading
   a body (the body timeout's) or waiting for a long answer, and one answered (a stream, a WebSocket,
   a kept-alive connection) has ``bytes_acked > 0``.

A pending connection's age counts from when it opened: ``tcpi_last_data_recv`` when first seen (for a
silent one that is since the handshake), kept by socket inode across scans, so a client trickling one
byte at a time does not stay young.

At the descriptor limit a scan needs no descriptor of its own: ``os.listdir`` failing with ``EMFILE``
means every descriptor below the soft limit is open, so those numbers are the listing, and a socket is
inspected through a borrowed wrapper around its own descriptor (detached, never closed) rather than a
``dup``. A shut-down socket reads end-of-file in granian, which closes it and frees its descriptor; the
reaper never closes a descriptor itself, and shuts one down only after checking (on a ``dup`` that pins
it, when one is free) that the number still holds the socket it chose. A scan costs a few microseconds
per connection; it runs every ``MAX_PERIOD`` seconds at most, a quarter of the shorter timeout at least
(but not more often than every ``MIN_PERIOD``).

Left to granian: a TLS connection that completed its handshake and then sent nothing, or a prefix of
the preface, and an HTTP/2 connection with no stream open (both have been answered something).
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
import struct
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fakeai.settings import Settings

log = logging.getLogger("fakeai")

#: ``struct tcp_info`` (linux/tcp.h): state (u8, offset 0), last_data_recv (u32 ms, offset 52),
#: bytes_acked (u64, offset 120), bytes_received (u64, offset 128; both Linux 4.1+).
_TCP_INFO_SIZE = 136
_ESTABLISHED = 1
#: The HTTP/2 connection preface granian reads before it knows the protocol (and starts its timers).
PREFACE_BYTES = len(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
#: Longest and shortest pause between two scans, seconds.
MAX_PERIOD = 5.0
MIN_PERIOD = 0.25


class Pending:
    """A connection nothing was sent on yet: its descriptor, its socket's inode, its age (ms), and
    whether it has received no byte at all."""

    __slots__ = ("age_ms", "fd", "inode", "silent")

    def __init__(self, fd: int, age_ms: int, silent: bool = True, inode: int = 0) -> None:
        self.fd, self.age_ms, self.silent, self.inode = fd, age_ms, silent, inode


def _descriptors() -> list[int]:
    """This process's open descriptor numbers; at the descriptor limit (no descriptor left to list
    them with), every number below it."""
    try:
        return [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError as e:
        if e.errno != errno.EMFILE:
            return []
        return list(range(resource.getrlimit(resource.RLIMIT_NOFILE)[0]))


def _tcp_info(fd: int, port: int) -> bytes | None:
    """``TCP_INFO`` of descriptor ``fd`` if it is a TCP socket on local ``port``, read through a
    wrapper that borrows the descriptor (no new one is needed)."""
    try:
        s = socket.socket(fileno=fd)
    except OSError:
        return None
    try:
        if s.type != socket.SOCK_STREAM or s.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        if s.getsockname()[1] != port:
            return None
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return None
    finally:
        s.detach()


def scan(port: int, tls: bool = False, opened: dict[int, float] | None = None) -> tuple[int, list[Pending]]:
    """``(connections on local port, the pending ones)`` among this process's sockets. ``opened`` maps
    a pending socket's inode to when it opened (``time.monotonic()``); it is updated to hold just the
    pending sockets of this scan."""
    total, pending = 0, []
    now = time.monotonic()
    seen: dict[int, float] = {}
    known = opened if opened is not None else {}
    for fd in _descriptors():
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if not link.startswith("socket:["):
            continue
        info = _tcp_info(fd, port)
        if info is None or len(info) < _TCP_INFO_SIZE or info[0] != _ESTABLISHED:
            continue  # not ours, the listening socket, or one closing
        total += 1
        (acked,) = struct.unpack_from("Q", info, 120)
        if acked:
            continue
        (received,) = struct.unpack_from("Q", info, 128)
        if not (received == 0 or tls or received < PREFACE_BYTES):
            continue  # a request made, waiting for its answer or sending its body
        (last_recv_ms,) = struct.unpack_from("I", info, 52)
        inode = int(link[8:-1])
        since = seen[inode] = known.get(inode, now - last_recv_ms / 1000)
        pending.append(Pending(fd, round((now - since) * 1000), received == 0, inode))
    if opened is not None:
        opened.clear()
        opened.update(seen)
    return total, pending


def to_cut(total: int, pending: list[Pending], idle_ms: int, limit: int, head_ms: int = 0) -> list[Pending]:
    """The pending connections to shut down: silent ones past ``idle_ms`` and others past ``head_ms``
    (0: none), then the oldest while more than ``limit`` (0: no limit) connections remain."""
    pending = sorted(pending, key=lambda c: -c.age_ms)

    def due(c: Pending) -> bool:
        timeout = idle_ms if c.silent else head_ms
        return bool(timeout) and c.age_ms >= timeout

    cut = [c for c in pending if due(c)]
    over = total - len(cut) - limit if limit else 0
    if over > 0:
        cut += [c for c in pending if not due(c)][:over]
    return cut


def _shutdown(fd: int, inode: int = 0) -> None:
    """Shut down the socket at ``fd`` if it is still the one of ``inode`` (0: any)."""
    try:
        pin = os.dup(fd)  # holds the socket while it is checked and shut down
    except OSError:
        pin = fd  # no descriptor free: check and shut down through the number itself
    try:
        if inode and os.fstat(pin).st_ino != inode:
            return  # closed and its number reused meanwhile
        s = socket.socket(fileno=pin)
        try:
            s.shutdown(socket.SHUT_RDWR)
        finally:
            s.detach()
    except OSError:
        pass
    finally:
        if pin != fd:
            os.close(pin)


class Reaper:
    """The reaper thread of one worker process (see the module docs)."""

    def __init__(
        self,
        port: int,
        idle_timeout_s: float,
        max_connections: int,
        header_read_timeout_s: float = 0.0,
        tls: bool = False,
    ) -> None:
        self.port = port
        self.idle_ms = round(idle_timeout_s * 1000)
        self.head_ms = round(header_read_timeout_s * 1000)
        self.limit = max_connections
        self.tls = tls
        timeouts = [t / 4 for t in (idle_timeout_s, header_read_timeout_s) if t]
        self.period = max(MIN_PERIOD, min([MAX_PERIOD, *timeouts]))
        self.opened: dict[int, float] = {}
        self.stopped = threading.Event()
        self.closed = 0

    @classmethod
    def of(cls, settings: Settings) -> Reaper:
        """The reaper a worker serving ``settings`` runs."""
        return cls(
            settings.port,
            settings.idle_timeout_s,
            settings.max_connections,
            settings.header_read_timeout_s,
            tls=bool(settings.ssl_certfile or settings.self_signed_certs),
        )

    @property
    def needed(self) -> bool:
        return (
            sys.platform.startswith("linux")
            and self.port > 0
            and bool(self.idle_ms or self.head_ms or self.limit)
        )

    def start(self) -> None:
        if self.needed:
            threading.Thread(target=self.run, name="fakeai-reaper", daemon=True).start()

    def run(self) -> None:
        while not self.stopped.wait(self.period):
            self.sweep()

    def sweep(self) -> int:
        total, pending = scan(self.port, self.tls, self.opened)
        cut = to_cut(total, pending, self.idle_ms, self.limit, self.head_ms)
        for c in cut:
            _shutdown(c.fd, c.inode)
        if cut:
            self.closed += len(cut)
            log.debug("closed %d pending connection(s) of %d", len(cut), total)
        return len(cut)
