"""Answers given before the request body is read keep their connection usable, or say it closes."""

from __future__ import annotations

import socket

import httpx
import pytest

from fakeai.http.drain import DRAIN_LIMIT

pytestmark = pytest.mark.integration


def read_response(s: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.lower().split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.startswith(b"content-length")))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head.lower(), rest


def exchange(url: str, path: str, size: int, *headers: bytes) -> tuple[bytes, bool]:
    """POST ``size`` bytes the endpoint never reads; ``(response head, whether a second request on
    the same connection was answered)``."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as s:
        extra = b"".join(h + b"\r\n" for h in headers)
        s.sendall(
            b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (path.encode(), size, extra)
            + b"x" * size
        )
        first = read_response(s)
        assert first is not None
        try:
            s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
            second = read_response(s)
        except OSError:
            second = None
        return first[0], second is not None and second[0].startswith(b"http/1.1 200")


@pytest.mark.parametrize("size", [60_000, 300_000, DRAIN_LIMIT])
@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/batches/batch_nope/cancel", (), b"404"),
        ("/v1/chat/completions", (b"x-fakeai-error: 429",), b"429"),
        ("/no/such/route", (), b"404"),
    ],
)
def test_an_early_answer_keeps_the_connection_alive(base_url, path, headers, status, size):
    head, reused = exchange(base_url, path, size, *headers)
    assert head.split(b" ")[1] == status
    assert b"connection: close" not in head
    assert reused


def test_a_body_too_long_to_drain_closes_the_connection_and_says_so(base_url):
    head, reused = exchange(base_url, "/v1/batches/batch_nope/cancel", DRAIN_LIMIT + 100_000)
    assert head.split(b" ")[1] == b"404" and b"connection: close" in head
    assert not reused


def test_an_httpx_client_keeps_one_connection_through_early_answers(base_url):
    with httpx.Client(base_url=base_url) as http:
        for _ in range(20):
            r = http.post("/v1/batches/batch_nope/cancel", content=b"x" * 100_000)
            assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
            assert http.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/videos/none/remix", b"404"),
        ("/v1/files/file-x", b"405"),
        ("/v1/batches/batch_nope/cancel", b"404"),
    ],
)
def test_a_small_body_sent_after_its_head_still_gets_the_answer(base_url, path, status):
    """aiohttp (so AIPerf) writes a request's head and body separately: an answer sent, and the
    connection closed, before the body arrived made the body's write fail, and the client saw an
    error instead of the 4xx. The answer now waits for the body."""
    port = int(base_url.rsplit(":", 1)[1])
    body = b'{"model": "gpt-4o", "prompt": "a cat"}'
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
            % (path.encode(), len(body))
        )
        s.settimeout(0.3)
        with pytest.raises(TimeoutError):
            s.recv(1)  # nothing is answered before the body came
        s.settimeout(10)
        s.sendall(body)
        first = read_response(s)
        assert first is not None and first[0].split(b" ")[1] == status
        assert b"connection: close" not in first[0]
        s.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        second = read_response(s)
        assert second is not None and second[0].startswith(b"http/1.1 200")
