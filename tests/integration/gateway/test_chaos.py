"""Chaos for streams, observed with httpx: cut after K chunks, stall, malformed chunk, slow first byte."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.integration

STREAM = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 20,
    "stream": True,
    "ignore_eos": True,
}


def _events(url: str, headers: dict[str, str]) -> tuple[list[bytes], Exception | None, list[float]]:
    events, stamps, error = [], [], None
    start = time.monotonic()
    try:
        with httpx.stream(
            "POST", url + "/v1/chat/completions", json=STREAM, headers=headers, timeout=10
        ) as r:
            buf = b""
            for chunk in r.iter_bytes():
                buf += chunk
                while b"\n\n" in buf:
                    event, buf = buf.split(b"\n\n", 1)
                    events.append(event)
                    stamps.append(time.monotonic() - start)
    except httpx.RemoteProtocolError as e:
        error = e
    return events, error, stamps


def test_disconnect_after_k_chunks(base_url):
    events, error, _ = _events(base_url, {"x-fakeai-disconnect-after": "4"})
    assert len(events) == 4 and error is not None
    assert not any(e == b"data: [DONE]" for e in events)
    events, error, _ = _events(base_url, {})
    assert error is None and events[-1] == b"data: [DONE]"


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/chat/completions", {**STREAM, "stream": False}),
        ("/v1/completions", {"model": "gpt-4o", "prompt": "hi", "max_tokens": 4}),
        ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "hi"}),
        ("/v1/responses", {"model": "gpt-4o", "input": "hi"}),
    ],
)
def test_disconnect_after_zero_cuts_a_whole_answer_after_its_headers(base_url, path, body):
    """A non-streamed answer is one chunk: K=0 cuts it after the headers (the hot routes answered a
    500 and logged a traceback instead)."""
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream(
            "POST", base_url + path, json=body, headers={"x-fakeai-disconnect-after": "0"}, timeout=10
        ) as r:
            assert r.status_code == 200
            r.read()


def test_stall_mid_stream(base_url):
    events, error, stamps = _events(base_url, {"x-fakeai-stall-ms": "400", "x-fakeai-stall-after": "3"})
    assert error is None and events[-1] == b"data: [DONE]"
    assert stamps[3] - stamps[2] >= 0.35  # the stall sits between chunk 3 and chunk 4


def test_malformed_chunk(base_url):
    events, error, _ = _events(base_url, {"x-fakeai-malformed-after": "2"})
    assert error is None
    assert events[2].startswith(b"data: {") and not events[2].endswith(b"}")
    assert events[-1] == b"data: [DONE]"


def test_slow_first_byte(base_url):
    start = time.monotonic()
    r = httpx.post(
        base_url + "/v1/chat/completions",
        json={**STREAM, "stream": False},
        headers={"x-fakeai-first-byte-ms": "300"},
    )
    assert r.status_code == 200 and time.monotonic() - start >= 0.29


def test_bad_chaos_header_is_a_400(base_url):
    r = httpx.post(base_url + "/v1/chat/completions", json=STREAM, headers={"x-fakeai-disconnect-after": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "x-fakeai-disconnect-after"


def test_drawn_chaos_is_deterministic(start_server):
    flags = (
        "--ttft",
        "0",
        "--itl",
        "0",
        "--chaos-rate",
        "0.5",
        "--chaos-mix",
        "disconnect",
        "--chaos-after",
        "2",
        "--fault-seed",
        "3",
    )
    runs = []
    for _ in range(2):
        with start_server(*flags) as url:
            runs.append([_events(url, {})[1] is not None for _ in range(20)])
    assert runs[0] == runs[1] and 3 <= sum(runs[0]) <= 17
