"""How ``fakeai server`` runs as processes: a busy port, a dead worker, crash leftovers, silent and
slow connections."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time

import httpx
import pytest

from fakeai.runtime.process import children, free_port, run_fakeai, server_cmd, spawn, stop, wait_for

pytestmark = pytest.mark.integration


def test_a_busy_port_is_refused_with_one_line():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        r = run_fakeai("server", "--host", "127.0.0.1", "--port", str(port))
    assert r.returncode != 0
    assert r.stderr.strip() == f"fakeai: port {port} is in use; pass --port"
    assert "Traceback" not in r.stdout + r.stderr and "serving on" not in r.stdout + r.stderr


def test_a_port_served_by_another_fakeai_is_refused(start_server):
    port = free_port()
    with start_server(port=port) as url:
        r = run_fakeai("server", "--host", "127.0.0.1", "--port", str(port))
        assert r.returncode != 0 and f"port {port} is in use" in r.stderr
        assert httpx.get(url + "/health").status_code == 200


def test_an_address_not_of_this_machine_is_one_line():
    r = run_fakeai("server", "--host", "192.0.2.1", "--port", str(free_port()))  # TEST-NET-1
    assert r.returncode != 0
    assert r.stderr.strip().startswith("fakeai: cannot assign requested address 192.0.2.1")
    assert "Traceback" not in r.stderr


def test_a_killed_worker_is_replaced_and_nothing_stored_is_lost(tmp_path):
    port = free_port()
    proc = spawn(server_cmd(port, "--workers", "2", "--ttft", "0", "--itl", "0"), port)
    try:
        url = f"http://127.0.0.1:{port}"
        workers = wait_for(lambda: len(children(proc.pid)) == 2 and children(proc.pid))
        stored = httpx.post(
            url + "/v1/files", files={"file": ("a.txt", b"kept\n")}, data={"purpose": "user_data"}
        ).json()["id"]
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        # the other worker keeps answering (new connections) while the dead one is replaced
        for _ in range(20):
            assert httpx.get(url + "/health").status_code == 200
        replaced = wait_for(lambda: (c := children(proc.pid)) and len(c) == 2 and victim not in c and c)
        assert replaced and victim not in replaced
        assert proc.poll() is None
        for _ in range(10):  # whichever worker answers, the new one included
            assert httpx.get(f"{url}/v1/files/{stored}/content").content == b"kept\n"
    finally:
        stop(proc)


def test_temp_files_left_by_a_crash_are_removed_at_start(tmp_path):
    (tmp_path / "tmp").mkdir()
    leftover = tmp_path / "tmp" / "tmpabc123"
    leftover.write_bytes(b"half an upload")
    port = free_port()
    proc = spawn(server_cmd(port, "--data-dir", str(tmp_path)), port)
    try:
        assert not leftover.exists()
        assert (tmp_path / "fakeai.db").exists()
    finally:
        stop(proc)


def _count_closed(socks: list[socket.socket], seconds: float, want: int) -> int:
    """How many of ``socks`` the server closed, waiting up to ``seconds`` for ``want`` of them."""
    closed: set[int] = set()
    deadline = time.monotonic() + seconds
    while len(closed) < want and time.monotonic() < deadline:
        for i, s in enumerate(socks):
            if i not in closed and _closed_within(s, 0.05):
                closed.add(i)
    return len(closed)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_silent_and_slow_connections_are_closed_and_health_keeps_answering(start_server):
    flags = ("--idle-timeout", "1", "--header-read-timeout", "1")
    with start_server(*flags) as url:
        port = int(url.rsplit(":", 1)[1])
        silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        try:
            for s in slow:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a head never finished
            assert httpx.get(url + "/health").status_code == 200
            assert all(_closed_within(s, 15) for s in silent + slow)
        finally:
            for s in silent + slow:
                s.close()


def test_connections_over_the_limit_are_closed_oldest_silent_first(start_server):
    with start_server("--max-connections", "4", "--idle-timeout", "0") as url:
        port = int(url.rsplit(":", 1)[1])
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
        try:
            with httpx.Client(base_url=url) as http:  # a connection in use is never cut for the limit
                assert http.get("/health").status_code == 200
                # 9 connections (8 silent + this client's), at most 4 held: 5 silent ones are cut. The
                # reaper sees a connection once granian has accepted it, so wait for all together.
                assert _count_closed(conns, 30, want=5) >= 5
                assert http.get("/health").status_code == 200
        finally:
            for s in conns:
                s.close()


#: Proper prefixes of the HTTP/2 preface: granian waits for the rest with no timer of its own.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def test_a_head_stuck_before_its_protocol_is_known_is_closed_after_the_header_timeout(start_server):
    """One byte (or up to 23 of the HTTP/2 preface) and then nothing: granian never timed these out,
    and they held their descriptors forever. A request waiting longer than the timeout for its answer
    is not cut."""
    flags = ("--idle-timeout", "0", "--header-read-timeout", "1", "--max-connections", "0")
    with start_server(*flags) as url:
        port = int(url.rsplit(":", 1)[1])
        answers: list[int] = []
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        slow = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    url + "/v1/chat/completions", json=body, headers={"x-fakeai-ttft-ms": "4000"}, timeout=30
                ).status_code
            )
        )
        slow.start()
        heads = [b"P", b"P", b"PR", PREFACE[:3], PREFACE[:16], PREFACE[:23]]
        stuck = [socket.create_connection(("127.0.0.1", port)) for _ in heads]
        try:
            for s, head in zip(stuck, heads, strict=True):
                s.sendall(head)
            assert _count_closed(stuck, 10, want=len(stuck)) == len(stuck)
            slow.join(30)
            assert answers == [200]
            assert httpx.get(url + "/health").status_code == 200
        finally:
            for s in stuck:
                s.close()


def test_one_byte_connections_count_against_the_limit(start_server):
    with start_server("--max-connections", "4", "--idle-timeout", "0", "--header-read-timeout", "60") as url:
        port = int(url.rsplit(":", 1)[1])
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
        try:
            for s in conns:
                s.sendall(b"P")
            # 8 connections, at most 4 held: the 4 oldest are cut (the header timeout is far off)
            assert _count_closed(conns, 30, want=4) >= 4
            assert httpx.get(url + "/health").status_code == 200
        finally:
            for s in conns:
                s.close()


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")
def test_the_reaper_keeps_working_at_the_descriptor_limit():
    """More silent connections than the worker has descriptors: it cannot accept ``/health`` until
    some are cut, and the reaper's own scan must work with no descriptor free (it listed
    ``/proc/self/fd``, which needs one, so it found nothing and cut nothing)."""
    port = free_port()
    flags = ("--workers", "1", "--idle-timeout", "0", "--header-read-timeout", "8", "--max-connections", "32")
    proc = spawn(["prlimit", "--nofile=256:256", *server_cmd(port, *flags)], port)
    conns: list[socket.socket] = []
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        for _ in range(320):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # /health waits in the accept queue behind what the worker could not accept
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
        assert _count_closed(conns, 10, want=200) >= 200
    finally:
        for s in conns:
            s.close()
        stop(proc)
