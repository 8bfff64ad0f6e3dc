"""Per-request ``x-fakeai-*`` headers change one request's timing and length."""

from __future__ import annotations

import itertools
import statistics
import time

import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}


def test_output_tokens_header_sets_the_exact_length(client, http):
    r = client.chat.completions.create(
        model="gpt-4o", messages=CHAT["messages"], n=2, extra_headers={"x-fakeai-output-tokens": "7"}
    )
    assert r.usage.completion_tokens == 14
    c = client.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt="Say",
        max_tokens=100,
        extra_headers={"x-fakeai-output-tokens": "40"},
    )
    assert c.usage.completion_tokens == 40
    m = http.post(
        "/v1/messages",
        json={"model": "claude-3-5-haiku-latest", "max_tokens": 100, "messages": CHAT["messages"]},
        headers={"anthropic-version": "2023-06-01", "x-fakeai-output-tokens": "9"},
    )
    assert m.json()["usage"]["output_tokens"] == 9 and m.json()["stop_reason"] == "end_turn"


def test_ttft_header_delays_one_request(http):
    start = time.perf_counter()
    r = http.post("/v1/chat/completions", json=CHAT, headers={"x-fakeai-ttft-ms": "300"})
    slow = time.perf_counter() - start
    start = time.perf_counter()
    http.post("/v1/chat/completions", json=CHAT)
    fast = time.perf_counter() - start
    assert r.status_code == 200
    assert slow >= 0.26 and fast < 0.2  # 300 ms within the profile's +-10% jitter


def test_itl_header_paces_the_stream(http):
    headers = {"x-fakeai-itl-ms": "30", "x-fakeai-output-tokens": "8"}
    arrivals = []
    start = time.perf_counter()
    with http.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}, headers=headers) as r:
        for line in r.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter() - start)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) == 8
    assert 0.02 <= statistics.median(gaps) <= 0.045


@pytest.mark.parametrize(
    "header, value",
    [
        ("x-fakeai-ttft-ms", "soon"),
        ("x-fakeai-ttft-ms", "-5"),
        ("x-fakeai-ttft-ms", "nan"),
        ("x-fakeai-itl-ms", "1e9"),
        ("x-fakeai-output-tokens", "0"),
        ("x-fakeai-output-tokens", "1.5"),
    ],
)
def test_bad_header_values_are_400(http, header, value):
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/completions", {"model": "m", "prompt": "x"})):
        r = http.post(path, json=body, headers={header: value})
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["param"] == header and err["type"] == "invalid_request_error"
        assert header in err["message"]


def test_unknown_fakeai_headers_are_ignored(http):
    assert http.post("/v1/chat/completions", json=CHAT, headers={"x-fakeai-future": "1"}).status_code == 200
