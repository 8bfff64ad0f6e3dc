"""Micro-benchmarks of the gateway's Rust pieces against pure-Python baselines.

    pytest benches/test_gateway.py --benchmark-enable --benchmark-group-by=group

- ``admit``: one request through the shared GCRA buckets (requests and tokens per minute) and its
  six ``x-ratelimit-*`` headers; the baseline is the same algorithm in Python over a dict under a lock
  (what a Python implementation shared by threads would need; it still could not span processes).
- ``anthropic``: a streamed Anthropic message of 64 tokens rendered as SSE events; the baseline
  builds the same events with orjson.
"""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from fakeai import _core
from fakeai.schemas.messages import Message, MessagesRequest

MINUTE = 60_000_000_000


class PyLimiter:
    def __init__(self) -> None:
        self.tats: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def admit(self, key: str, rpm: int, tpm: int, tokens: int) -> tuple[int, list[tuple[bytes, bytes]]]:
        now = time.time_ns()
        headers = []
        with self.lock:
            for i, (amount, cost) in enumerate(((rpm, 1), (tpm, tokens))):
                tat = max(self.tats.get((key, i), 0), now) + cost * MINUTE // amount
                if tat - now > MINUTE:
                    return 1 + i, headers
                self.tats[key, i] = tat
                kind = b"requests" if i == 0 else b"tokens"
                remaining = (MINUTE - (tat - now)) * amount // MINUTE
                headers += [
                    (b"x-ratelimit-limit-" + kind, str(amount).encode()),
                    (b"x-ratelimit-remaining-" + kind, str(remaining).encode()),
                    (b"x-ratelimit-reset-" + kind, f"{(tat - now) / 1e6:.0f}ms".encode()),
                ]
        return 0, headers


@pytest.mark.benchmark(group="admit")
def test_admit_rust(benchmark, tmp_path):
    limiter = _core.RateLimiter(str(tmp_path / "rl.table"), 64)
    verdict, _, headers = benchmark(limiter.admit, "sk-****abcd#12345678", 10**9, 10**12, 0, 0, 100)
    assert verdict == 0 and [h[0] for h in headers][::3] == [
        b"x-ratelimit-limit-requests",
        b"x-ratelimit-limit-tokens",
    ]


@pytest.mark.benchmark(group="admit")
@pytest.mark.reference
def test_admit_python(benchmark):
    verdict, headers = benchmark(PyLimiter().admit, "sk-****abcd#12345678", 10**9, 10**12, 100)
    assert verdict == 0 and len(headers) == 6


MESSAGES = [Message(role="user", content="What is the weather like in Paris today?")]


def py_anthropic_stream(tokens: list[str]) -> list[bytes]:
    def event(name: str, data: dict) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    message = {
        "id": "msg_01x",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    steps = [
        event("message_start", {"type": "message_start", "message": message})
        + event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        + event("ping", {"type": "ping"})
    ]
    for t in tokens:
        steps.append(
            event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
            )
        )
    steps[-1] += (
        event("content_block_stop", {"type": "content_block_stop", "index": 0})
        + event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                "usage": {"output_tokens": len(tokens)},
            },
        )
        + event("message_stop", {"type": "message_stop"})
    )
    return steps


@pytest.mark.benchmark(group="anthropic")
def test_anthropic_stream_rust(benchmark):
    def render():
        return call(request)

    call = _core.MessagesCall(_core.ChatCall(itl=0.001))
    request = MessagesRequest(model="claude", messages=MESSAGES, max_tokens=64, stream=True)

    answer = benchmark(render)
    assert answer.completion_tokens == 64 and len(answer.payload) == 64 and len(answer.schedule) == 64


@pytest.mark.benchmark(group="anthropic")
@pytest.mark.reference
def test_anthropic_stream_python(benchmark):
    steps = benchmark(py_anthropic_stream, [" word"] * 64)
    assert len(steps) == 65 and steps[-1].endswith(b'{"type":"message_stop"}\n\n')
