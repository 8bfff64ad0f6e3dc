"""Long legacy-completion and Anthropic message streams (rendered window by window as they go out)
through the official openai and anthropic SDKs."""

from __future__ import annotations

import anthropic
import pytest

pytestmark = pytest.mark.integration

TOKENS = 20_000


def test_a_20k_token_completion_stream_arrives_whole(client):
    stream = client.completions.create(
        model="meta/llama-3.1-8b-instruct",
        prompt="Write a very long story.",
        max_tokens=TOKENS,
        seed=5,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    pieces: list[str] = []
    finish = None
    usage = None
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for c in chunk.choices:
                if c.text:
                    pieces.append(c.text)
                if c.finish_reason is not None:
                    finish = c.finish_reason
    assert len(pieces) == TOKENS and finish == "length"
    assert usage is not None and usage.completion_tokens == TOKENS
    whole = client.completions.create(
        model="meta/llama-3.1-8b-instruct",
        prompt="Write a very long story.",
        max_tokens=TOKENS,
        seed=5,
        extra_body={"ignore_eos": True},
    )
    assert "".join(pieces) == whole.choices[0].text


def test_a_20k_token_message_stream_arrives_whole(start_server):
    # Anthropic has no ignore_eos: the natural length comes from the server's distribution.
    with (
        start_server(
            "--ttft", "0", "--itl", "0", "--output-length-distribution", f"fixed:{TOKENS + 5000}"
        ) as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude,
    ):
        messages = [{"role": "user", "content": "Write a very long story."}]
        with claude.messages.stream(model="claude-test", max_tokens=TOKENS, messages=messages) as s:
            deltas = list(s.text_stream)
            final = s.get_final_message()
        whole = claude.messages.create(model="claude-test", max_tokens=TOKENS, messages=messages)
    assert len(deltas) == TOKENS and "".join(deltas) == final.content[0].text
    assert final.usage.output_tokens == TOKENS and final.stop_reason == "max_tokens"
    assert whole.usage.output_tokens == TOKENS and whole.stop_reason == "max_tokens"
