"""What a stored chat completion keeps: a stream's chunks assembled into the ``chat.completion`` a
non-streamed request gets, and the request's messages as store messages."""

from __future__ import annotations

import time

import msgspec
import orjson
import pytest

from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.schemas.chat import ChatRequest
from fakeai.settings import Settings
from fakeai.store.chat_completions import assemble, store_message

DECODE = msgspec.json.Decoder(ChatRequest).decode
AUDIO = {"voice": "alloy", "format": "wav"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.fixture(scope="module")
def ctx() -> ServerContext:
    return ServerContext(Settings(ttft_ms=0, itl_ms=0))


def both(ctx: ServerContext, **body: object) -> tuple[dict, dict]:
    """``(plain, assembled)``: the non-streamed completion and the same request's stream assembled."""
    base = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "seed": 5, **body}
    plain = render.chat(ctx, DECODE(orjson.dumps(base)), None, time.monotonic(), None)
    streamed = render.chat(ctx, DECODE(orjson.dumps({**base, "stream": True})), None, time.monotonic(), None)
    assert isinstance(plain.payload, bytes)
    assert not isinstance(streamed.payload, bytes)
    return orjson.loads(plain.payload), assemble(
        streamed.payload, streamed.prompt_tokens, streamed.completion_tokens
    )


def comparable(completion: dict) -> dict:
    """Without what differs between two renders (ids, the time) or a stream lacks (usage)."""
    for choice in completion["choices"]:
        for call in choice["message"].get("tool_calls") or ():
            call["id"] = "call"
        if choice["message"].get("audio"):
            choice["message"]["audio"]["id"] = "audio"
    return {k: v for k, v in completion.items() if k not in ("id", "created", "usage")}


@pytest.mark.parametrize(
    "body",
    [
        {"max_tokens": 8, "n": 3},
        {"max_tokens": 5, "logprobs": True, "top_logprobs": 2},
        {"max_tokens": 12, "tools": [TOOL], "tool_choice": "required"},
        {"model": "deepseek-ai/DeepSeek-R1", "max_tokens": 40, "reasoning_effort": "low"},
        {"model": "Qwen/Qwen3-8B", "max_tokens": 2, "reasoning_effort": "high"},
        # OpenAI's reasoning models stream no reasoning (their steps keep their time, empty)
        {"model": "o3-mini", "max_completion_tokens": 40, "reasoning_effort": "low"},
        {"model": "gpt-5", "max_completion_tokens": 2, "reasoning_effort": "high"},
        {"model": "gpt-4o-audio-preview", "max_tokens": 3, "modalities": ["text", "audio"], "audio": AUDIO},
    ],
)
def test_a_stream_assembles_into_the_plain_completion(ctx: ServerContext, body: dict) -> None:
    plain, assembled = both(ctx, **body)
    assert comparable(assembled) == comparable(plain)
    usage = assembled["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (
        plain["usage"]["prompt_tokens"],
        plain["usage"]["completion_tokens"],
    )


def test_the_streams_own_usage_is_kept(ctx: ServerContext) -> None:
    plain, assembled = both(ctx, max_tokens=4, stream_options={"include_usage": True})
    assert assembled["usage"] == plain["usage"]


def test_messages_become_store_messages() -> None:
    req = DECODE(
        orjson.dumps(
            {
                "model": "m",
                "messages": [
                    {"role": "developer", "content": "rules", "name": "ops"},
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    },
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
                    {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function"}]},
                    {"role": "tool", "content": "42", "tool_call_id": "call_1"},
                ],
            }
        )
    )
    items = [store_message("chatcmpl-x", i, m) for i, m in enumerate(req.messages)]
    assert [i["id"] for i in items] == [f"chatcmpl-x-{i}" for i in range(5)]
    assert items[0] == {
        "id": "chatcmpl-x-0",
        "role": "developer",
        "content": "rules",
        "name": "ops",
        "content_parts": None,
    }
    assert items[1]["content"] == "ab" and [p["text"] for p in items[1]["content_parts"]] == ["a", "b"]
    assert items[2]["content"] is None
    assert items[2]["content_parts"] == [{"type": "image_url", "image_url": {"url": "u", "detail": "auto"}}]
    assert items[3]["tool_calls"] == [{"id": "call_1", "type": "function"}] and items[3]["content"] is None
    assert items[4]["tool_call_id"] == "call_1"
