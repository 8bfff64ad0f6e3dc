"""A request body that stops arriving (``--body-read-timeout``): the client gets a 408 envelope and
the connection closes, on every route that takes a body, on the Rust hot path and the Python chain
alike; a body that keeps arriving, however slowly, is read whole; other clients are served meanwhile."""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest
from tests.integration.test_fuzz import ROUTES

pytestmark = pytest.mark.integration

WITH_BODY = sorted({(m, p) for m, p in ROUTES if m in ("POST", "PUT", "PATCH")})
CHAT = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":3}'
BATCH = b'{"input_file_id":"file-none","endpoint":"/v1/chat/completions","completion_window":"24h"}'
#: Seconds the servers below give a body to go on arriving.
TIMEOUT = 1.0


def stall(port: int, method: str, path: str, head: bytes, sent: bytes) -> socket.socket:
    """Open a connection that sends a request head (``head``: its framing headers) and ``sent`` of
    the body, then nothing more."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode()
        + b"anthropic-version: 2023-06-01\r\n"
        + head
        + b"\r\n"
        + sent
    )
    return s


def answer(s: socket.socket) -> tuple[bytes, bool]:
    """The server's whole answer on ``s``, and whether the server then closed the connection."""
    data = b""
    with s:
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return data, False
            if not chunk:
                return data, True
            data += chunk


def parts(data: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.fixture(scope="module")
def server(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--body-read-timeout", str(TIMEOUT)) as url:
        yield url, int(url.rsplit(":", 1)[1])


#: How a body stops: before its first byte, part-way, and a chunked body before its last chunk.
STALLS = {
    "no byte of the body": (b"Content-Length: 100\r\n", b""),
    "part of the body": (b"Content-Length: 100\r\n", b'{"mod'),
    "chunked, no last chunk": (b"Transfer-Encoding: chunked\r\n", b'5\r\n{"mod\r\n'),
}
#: The hot path's routes (Rust) and one of the Python chain's.
PATHS = ("/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/batches")


def test_a_stalled_body_is_a_408_that_closes_the_connection(server):
    """Every stall on every path, all at once: each a 408 after the timeout, then the connection ends."""
    url, port = server
    started = time.monotonic()
    stalled = [
        (path, name, stall(port, "POST", path, head, sent))
        for path in PATHS
        for name, (head, sent) in STALLS.items()
    ]
    for path, name, s in stalled:
        data, closed = answer(s)
        waited = time.monotonic() - started
        status, headers, body = parts(data)
        assert status == 408, (path, name, data)
        error = body["error"]
        assert error["type"] == "invalid_request_error", (path, name, error)
        assert error.get("code", "request_timeout") == "request_timeout", (path, name, error)
        assert "--body-read-timeout" in error["message"]
        assert headers["connection"] == "close" and headers["x-request-id"], (path, name, headers)
        assert closed, (path, name)
        assert TIMEOUT <= waited < TIMEOUT + 4, (path, name, waited)


def test_every_route_with_a_body_answers_a_stalled_one(server):
    """All at once: each gets a 4xx envelope (a 408, or the error it answers without reading the body)
    and its connection closes (an early answer drains the body first: the drain that gave up once
    kept the connection open after the answer); meanwhile the server answers others."""
    url, port = server
    assert len(WITH_BODY) > 30, WITH_BODY
    stalled = [
        (m, p, stall(port, m, re.sub(r"\{[^}]+\}", "missing-id", p), b"Content-Length: 100\r\n", b'{"a'))
        for m, p in WITH_BODY
    ]
    r = httpx.post(url + "/v1/chat/completions", content=CHAT, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    failures, timed_out = [], 0
    for method, path, s in stalled:
        data, closed = answer(s)
        status = int(data[9:12] or 0)
        if not (400 <= status < 500 and b'"error":' in data and closed):
            failures.append((method, path, closed, data[:200]))
        timed_out += status == 408
    assert not failures, failures
    assert timed_out > len(WITH_BODY) // 2, timed_out
    statuses = httpx.get(url + "/metrics", timeout=10).json()["endpoints"]
    assert not [p for p, e in statuses.items() if any(k.startswith("5") for k in e["by_status"])], statuses
    assert statuses["/v1/chat/completions"]["by_status"].get("408", 0) >= 1
    assert httpx.get(url + "/health", timeout=10).status_code == 200


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/batches"])
def test_a_body_that_keeps_arriving_slowly_is_read_whole(server, path):
    """Five pieces 0.6 s apart: 2.4 s in all, longer than the timeout, but never a pause that long."""
    url, port = server
    body = CHAT if path.endswith("completions") else BATCH
    pieces = [body[len(body) * i // 5 : len(body) * (i + 1) // 5] for i in range(5)]
    assert b"".join(pieces) == body
    s = stall(port, "POST", path, f"Content-Length: {len(body)}\r\n".encode(), pieces[0])
    for piece in pieces[1:]:
        time.sleep(0.6)
        s.sendall(piece)
    s.settimeout(10)
    data = s.recv(65536)
    s.close()
    status = int(data[9:12])
    # chat answers 200; batches reads the body and answers the unknown file's 404: neither timed out
    assert status == (200 if path.endswith("completions") else 404), data
