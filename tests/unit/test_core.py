"""The Rust core as Python sees it: token counts, determinism, error type."""

from __future__ import annotations

import orjson
import pytest

from fakeai import _core
from fakeai.schemas.chat import ChatRequest, Message


def test_count_tokens():
    assert _core.count_tokens("") == 0
    assert _core.count_tokens("Hello world") == 2


def test_chat_is_deterministic_with_a_seed():
    req = ChatRequest(model="m", messages=[Message(role="user", content="hi")], max_tokens=10, seed=5)
    a = orjson.loads(_core.chat(req).payload)
    b = orjson.loads(_core.chat(req).payload)
    assert a["choices"] == b["choices"] and a["id"] != b["id"]
    assert a["usage"]["completion_tokens"] <= 10


def test_stream_returns_steps_and_offsets():
    req = ChatRequest(
        model="m", messages=[Message(role="user", content="hi")], max_tokens=4, ignore_eos=True, stream=True
    )
    answer = _core.chat(req, ttft=0.05, itl=0.01)
    steps, offsets, completion = answer.payload, answer.schedule, answer.completion_tokens
    assert len(steps) == len(offsets) == 4 and completion == 4
    assert offsets[0] == pytest.approx(0.05) and offsets[3] == pytest.approx(0.08)


def test_a_paced_stream_renders_its_steps_on_demand():
    def answer(tokens: int, itl: float = 0.01) -> _core.Answer:
        msgs = [Message(role="user", content="hi")]
        req = ChatRequest(model="m", messages=msgs, max_tokens=tokens, ignore_eos=True, stream=True, seed=5)
        return _core.chat(req, ttft=0.05, itl=itl)

    # sent in one write (no inter-token latency): rendered whole, one step
    assert isinstance(answer(64, itl=0.0).payload, list) and len(answer(64, itl=0.0).payload) == 1
    # one token: one step, rendered whole
    assert isinstance(answer(1).payload, list)
    # paced: each step rendered as it goes out, the same bytes as a whole rendering
    paced, whole = answer(64), answer(64, itl=0.0)
    assert isinstance(paced.payload, _core.Steps) and len(paced.payload) == len(paced.schedule) == 64
    chunks = paced.payload.window(0, 64).split(b"\n\n")
    assert len(chunks) == len(whole.payload[0].split(b"\n\n"))
    assert chunks[-2] == b"data: [DONE]"
    # a very long stream is rendered on demand even when sent in one write
    assert isinstance(answer(5000, itl=0.0).payload, _core.Steps)
    long = answer(5000)
    steps = long.payload
    assert isinstance(steps, _core.Steps) and len(steps) == len(long.schedule) == 5000
    assert steps[-1] == steps[4999] and steps[-1].endswith(b"data: [DONE]\n\n")
    assert steps.window(0, 3) == steps[0] + steps[1] + steps[2]
    assert steps.window(4998, 10**9) == steps[4998] + steps[4999]
    with pytest.raises(IndexError):
        steps[5000]
    whole = b"".join(steps[k] for k in range(len(steps)))
    assert whole.count(b"data: ") == 1 + 5000 + 1 + 1  # role, tokens, finish, [DONE]
    assert steps.window(0, len(steps)) == whole


def test_invalid_input_is_a_value_error():
    with pytest.raises(ValueError):
        _core.embed("m", [], 8)
    assert issubclass(_core.InvalidInput, ValueError)
