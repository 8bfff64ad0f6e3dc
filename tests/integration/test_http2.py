"""HTTP/2 (granian negotiates it: ALPN over TLS, prior knowledge in clear): every route answers as over
HTTP/1.1, streams included."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.integration

HI = [{"role": "user", "content": "hi"}]
STREAMS = [
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": HI, "max_tokens": 8, "stream": True}),
    ("/v1/chat/completions", {"model": "gpt-4o", "messages": HI, "max_tokens": 8, "stream": True, "n": 2}),
    ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi", "max_tokens": 8, "stream": True}),
    ("/v1/messages", {"model": "claude-x", "messages": HI, "max_tokens": 8, "stream": True}),
    ("/v1/responses", {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16, "stream": True}),
]


@pytest.fixture(scope="module", params=["hot path", "--no-hot-path"])
def h2(request, start_server):
    flags = ("--ttft", "5", "--itl", "1") + (() if request.param == "hot path" else ("--no-hot-path",))
    with start_server(*flags) as url, httpx.Client(base_url=url, http1=False, http2=True, timeout=10) as c:
        yield c


@pytest.mark.parametrize("path, body", STREAMS, ids=[p for p, _ in STREAMS])
def test_streams_arrive_whole_over_http2(h2, path, body):
    """httpx ends a request with an empty DATA frame of its own, which granian hands on as an empty
    message with more_body before the last one: the hot path took it for the client leaving and
    reset every stream with nothing sent."""
    headers = {"anthropic-version": "2023-06-01"}
    with h2.stream("POST", path, json=body, headers=headers) as r:
        assert r.http_version == "HTTP/2" and r.status_code == 200
        data = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    events = [json.loads(d) for d in data if d != "[DONE]"]
    assert len(events) >= 3, data
    if path.startswith("/v1/chat") or path == "/v1/completions":
        assert data[-1] == "[DONE]"
    else:  # Anthropic's and the Responses API's streams end with their own last event
        assert events[-1]["type"] in ("message_stop", "response.completed", "response.incomplete")


def test_plain_answers_over_http2(h2):
    r = h2.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HI, "max_tokens": 4})
    assert (
        r.http_version == "HTTP/2" and r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    )
    bad = h2.post("/v1/chat/completions", json={"model": "gpt-4o"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"
