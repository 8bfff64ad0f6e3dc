"""Long chat streams (rendered window by window as they go out) through the official openai SDK."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Write a very long story."}]
TOKENS = 50_000


def _read(stream) -> tuple[dict[int, list[str]], dict[int, str], object]:
    """Each choice's content pieces and finish reason, and the usage chunk's usage."""
    pieces: dict[int, list[str]] = {}
    finish: dict[int, str] = {}
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            if c.delta.content:
                pieces.setdefault(c.index, []).append(c.delta.content)
            if c.finish_reason is not None:
                finish[c.index] = c.finish_reason
    return pieces, finish, usage


def test_a_50k_token_stream_arrives_whole_and_ends_with_length(client):
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        max_tokens=TOKENS,
        seed=7,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    with stream:
        pieces, finish, usage = _read(stream)
    assert len(pieces[0]) == TOKENS and finish == {0: "length"}
    assert usage.completion_tokens == TOKENS
    # Same seed, same text as the whole (non-streamed) answer.
    whole = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=TOKENS, seed=7, extra_body={"ignore_eos": True}
    )
    assert "".join(pieces[0]) == whole.choices[0].message.content
    assert whole.usage.completion_tokens == TOKENS


def test_several_long_choices_each_stream_every_token(client):
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        max_tokens=2000,
        n=3,
        seed=3,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    with stream:
        pieces, finish, usage = _read(stream)
    assert {i: len(p) for i, p in pieces.items()} == {0: 2000, 1: 2000, 2: 2000}
    assert finish == {0: "length", 1: "length", 2: "length"}
    assert usage.completion_tokens == 6000


def test_a_timed_long_stream_keeps_every_token(start_server):
    import openai

    with (
        start_server("--ttft", "0", "--itl", "0.01") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client,
    ):
        stream = client.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            max_tokens=6000,
            stream=True,
            extra_body={"ignore_eos": True},
        )
        with stream:
            pieces, finish, _ = _read(stream)
    assert len(pieces[0]) == 6000 and finish == {0: "length"}
