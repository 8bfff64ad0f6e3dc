"""Simulated timing: time to first token, inter-token gaps and whole-response delay, as configured."""

from __future__ import annotations

import itertools
import statistics
import time

import httpx
import pytest

pytestmark = pytest.mark.integration

BODY = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 20,
    "extra": 1,
    "ignore_eos": True,
}


def stream_times(url: str) -> tuple[float, list[float]]:
    """Seconds to the first content chunk, and the gaps between content chunks."""
    arrivals = []
    start = time.perf_counter()
    with httpx.stream("POST", url + "/v1/chat/completions", json={**BODY, "stream": True}, timeout=10) as r:
        for line in r.iter_lines():
            if line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter() - start)
    return arrivals[0], [b - a for a, b in itertools.pairwise(arrivals)]


def test_stream_follows_ttft_and_itl(start_server):
    with start_server("--ttft", "100", "--itl", "20", "--jitter", "0") as url:
        stream_times(url)  # warm-up
        ttft, gaps = stream_times(url)
    assert len(gaps) == 19
    # lower bounds are the contract (never early); upper bounds leave room for a loaded CI machine
    assert 0.095 <= ttft <= 0.3
    assert 0.018 <= statistics.median(gaps) <= 0.04


def test_non_stream_waits_the_whole_generation(start_server):
    with start_server("--ttft", "100", "--itl", "10", "--jitter", "0") as url:
        httpx.post(url + "/v1/chat/completions", json=BODY)
        start = time.perf_counter()
        r = httpx.post(url + "/v1/chat/completions", json=BODY, timeout=10)
        elapsed = time.perf_counter() - start
    assert r.status_code == 200
    assert 0.28 <= elapsed <= 0.6  # 100 ms + 19 x 10 ms


def test_zero_latency_stream_arrives_in_one_write(start_server):
    with (
        start_server("--ttft", "0", "--itl", "0") as url,
        httpx.stream("POST", url + "/v1/chat/completions", json={**BODY, "stream": True}) as r,
    ):
        pieces = list(r.iter_raw())
    joined = b"".join(pieces)
    assert joined.endswith(b"data: [DONE]\n\n")
    assert len(pieces) == 1


def test_env_vars_set_the_latency(start_server):
    with start_server(env={"FAKEAI_TTFT_MS": "150", "FAKEAI_ITL_MS": "0", "FAKEAI_JITTER": "0"}) as url:
        stream_times(url)
        ttft, gaps = stream_times(url)
    assert ttft >= 0.14
    assert max(gaps) < 0.01
