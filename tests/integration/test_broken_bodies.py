"""Request bodies that break off, on every route that takes one: a chunked body with a malformed chunk
size or chunk end, or one cut short by a client that stops sending. granian reports each to the app
as ``http.disconnect`` before the body's end; the client still there gets a 4xx with an error
envelope (never granian's bare 500). A client that leaves mid-body (its ``content-length`` not
reached) gets nothing and is counted as a 499. The server logs no traceback and keeps serving."""

from __future__ import annotations

import re
import socket
import struct
import zlib

import httpx
import pytest
from tests.integration.test_fuzz import ROUTES, TGI_ROUTES

pytestmark = pytest.mark.integration

#: Chunked bodies that break off: a chunk size that is not hex, a chunk not ended by CRLF, and a
#: chunk cut short (the client then shuts its sending side: the server reads end-of-file).
BROKEN = {
    "bad chunk size": b"zz\r\nabc\r\n0\r\n\r\n",
    "bad chunk end": b"3\r\nabcXY\r\n0\r\n\r\n",
    "cut short": b"10\r\nabc",
}
CONTENT_TYPES = (b"application/json", b"multipart/form-data; boundary=zz")
WITH_BODY = sorted({(m, p) for m, p in ROUTES if m in ("POST", "PUT", "PATCH")})


def send_broken(port: int, method: str, path: str, content_type: bytes, body: bytes) -> bytes:
    """Send one request with a broken chunked body on a fresh connection; the server's whole answer."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer test\r\n"
        "anthropic-version: 2023-06-01\r\nTransfer-Encoding: chunked\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + b"Content-Type: " + content_type + b"\r\n\r\n" + body)
        if body == BROKEN["cut short"]:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                break
    return answer


def leave_mid_body(port: int, method: str, path: str, content_type: bytes) -> None:
    """Send a head announcing 100 bytes and 4 of them, then close the connection."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + b"Content-Type: " + content_type + b'\r\n\r\n{"ab')


def test_a_body_that_breaks_off_is_a_4xx_envelope_on_every_route(start_server, tmp_path):
    assert len(WITH_BODY) > 30, WITH_BODY
    log = tmp_path / "server.log"
    failures = []
    with log.open("wb") as output, start_server("--ttft", "0", "--itl", "0", output=output) as url:
        port = int(url.rsplit(":", 1)[1])
        for method, template in WITH_BODY:
            path = re.sub(r"\{[^}]+\}", "missing-id", template)
            for content_type in CONTENT_TYPES:
                for name, body in BROKEN.items():
                    answer = send_broken(port, method, path, content_type, body)
                    status = answer[9:12]
                    envelope = b'"error_type":' if path in TGI_ROUTES else b'"error":{'
                    if not (status.startswith(b"4") and envelope in answer):
                        failures.append((method, path, content_type, name, answer[:200]))
                leave_mid_body(port, method, path, content_type)
        assert httpx.get(url + "/health", timeout=10).status_code == 200
        statuses = httpx.get(url + "/metrics", timeout=10).json()["endpoints"]
    assert not failures, failures
    assert not [p for p, e in statuses.items() if any(k.startswith("5") for k in e["by_status"])], statuses
    # A route that reads the body before answering counts each client that left (one per content type).
    for path in ("/v1/chat/completions", "/v1/batches", "/admin/config"):
        assert statuses[path]["by_status"].get("499") == len(CONTENT_TYPES), statuses[path]
    said = log.read_text(errors="replace")
    assert "Traceback" not in said, said[-3000:]


def test_the_hot_routes_name_the_broken_body(start_server):
    """Where the body is read before anything else is checked, the 400 says why."""
    with start_server("--ttft", "0", "--itl", "0") as url:
        port = int(url.rsplit(":", 1)[1])
        for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"):
            answer = send_broken(port, "POST", path, b"application/json", BROKEN["bad chunk size"])
            assert answer.startswith(b"HTTP/1.1 400 "), answer
            assert b'"code":"incomplete_body"' in answer, answer


def a_png() -> bytes:
    """A 16x16 RGB PNG."""
    raw = zlib.compress((b"\x00" + b"\x80\x40\x20" * 16) * 16)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def form(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart body (boundary ``XbX``) of ``(name, filename, data)`` parts."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--XbX\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + b"--XbX--\r\n"


@pytest.mark.parametrize(
    "path, body, cut",
    [
        # the file part streamed to a blob, cut inside its data: not a shorter file
        ("/v1/files", form(("purpose", None, b"user_data"), ("file", "a.txt", b"A" * 100_000)), 50_000),
        # a small form in memory, cut in its closing boundary: its last field is not dropped silently
        ("/v1/images/edits", form(("image", "a.png", a_png()), ("prompt", None, b"x"), ("n", None, b"2")), 8),
    ],
)
def test_a_form_without_its_closing_boundary_is_refused(http: httpx.Client, path: str, body: bytes, cut: int):
    # The content-length matches what is sent: only the missing "--XbX--" tells the body is cut.
    r = http.post(path, content=body[:-cut], headers={"content-type": "multipart/form-data; boundary=XbX"})
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"]["code"] == "invalid_multipart" and r.json()["error"]["param"] is None
    assert (
        http.post(
            path, content=body, headers={"content-type": "multipart/form-data; boundary=XbX"}
        ).status_code
        == 200
    )
