"""The checks made before granian starts, and the reaper's choice of connections to close."""

from __future__ import annotations

import socket

import pytest

from fakeai.runtime import listen
from fakeai.runtime.connections import Pending, to_cut


def test_a_listening_port_is_busy_even_for_a_reuseport_listener():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as granian's workers bind
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(listen.BindError, match=f"^port {port} is in use; pass --port$"):
            listen.check_free("127.0.0.1", port)
    listen.check_free("127.0.0.1", port)  # free again


def test_an_unresolvable_host_is_one_line():
    with pytest.raises(listen.BindError, match="pass --host"):
        listen.check_free("no-such-host.invalid", 8000)


def test_port_0_is_checked_on_its_host_and_gives_the_port_to_serve():
    """``--port 0``: an address this machine does not have is the same one line as with a port given,
    and on an address it has, the free port found is returned (the server serves and logs that one)."""
    not_ours = "^cannot assign requested address 192.0.2.1 .*; pass --host$"
    with pytest.raises(listen.BindError, match=not_ours):
        listen.check_free("192.0.2.1", 0)  # TEST-NET-1
    host, port = listen.check_free("127.0.0.1", 0)
    assert host == "127.0.0.1" and 0 < port < 65536
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free: the check's socket is closed again


def test_descriptor_limit_is_at_least_what_it_was():
    import resource

    before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert listen.raise_descriptor_limit() >= before


def test_idle_silent_connections_are_cut_then_oldest_over_the_limit():
    silent = [Pending(fd, age) for fd, age in [(5, 100), (6, 9000), (7, 20), (8, 4000)]]
    assert [c.fd for c in to_cut(10, silent, idle_ms=5000, limit=0)] == [6]
    # 10 connections, limit 7: 6 is idle; two more go, oldest silent first
    assert [c.fd for c in to_cut(10, silent, idle_ms=5000, limit=7)] == [6, 8, 5]
    # connections that sent a request are never cut for the limit
    assert [c.fd for c in to_cut(100, silent, idle_ms=0, limit=1)] == [6, 8, 5, 7]
    assert to_cut(3, silent, idle_ms=0, limit=8) == []


def test_a_head_not_complete_is_cut_after_the_header_timeout_and_counts_for_the_limit():
    """A pending connection that sent some bytes (a prefix of the HTTP/2 preface) has the header
    timeout; a silent one the idle timeout."""
    conns = [Pending(5, 3000, silent=False), Pending(6, 1000, silent=False), Pending(7, 3000)]
    assert [c.fd for c in to_cut(10, conns, idle_ms=0, limit=0, head_ms=2000)] == [5]
    assert [c.fd for c in to_cut(10, conns, idle_ms=2000, limit=0, head_ms=0)] == [7]
    # 10 connections, limit 8: 5 is due; 7 (older than 6) goes for the limit
    assert [c.fd for c in to_cut(10, conns, idle_ms=0, limit=8, head_ms=2000)] == [5, 7]


def test_a_host_name_is_served_at_its_address():
    """granian binds IP addresses only: ``--host localhost`` was a traceback from granian."""
    host, _ = listen.check_free("localhost", 0)
    assert host in ("127.0.0.1", "::1")
