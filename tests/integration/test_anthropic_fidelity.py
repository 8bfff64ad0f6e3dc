"""Anthropic Messages API fidelity, driven by the official ``anthropic`` SDK (httpx for the 400s): extended
thinking (blocks, stream events, budget rules), prompt-caching usage, input tokens of every block kind,
and echo mode. Each runs on the Rust hot path and on the Python route (``--no-hot-path``) alike, except
where a request can only take one of them (tools, ``x-fakeai-*`` headers: the Python route)."""

from __future__ import annotations

import base64
import struct

import anthropic
import httpx
import pytest

from .test_hot_path import served

pytestmark = pytest.mark.integration

MODEL = "claude-sonnet-4-5"
VERSION = {"anthropic-version": "2023-06-01"}
FAST = ("--ttft", "0", "--itl", "0")
PATHS = pytest.mark.parametrize("flags", [(), ("--no-hot-path",)], ids=["rust", "python"])
USER = [{"role": "user", "content": "Hello there, how are you?"}]
THINK = {"type": "enabled", "budget_tokens": 1024}


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=60)


def png(width: int, height: int) -> str:
    head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + struct.pack(">II", width, height) + bytes([8, 6, 0, 0, 0])
    return base64.b64encode(head).decode()


def pdf(pages: int) -> str:
    body = b"%%PDF-1.4\n1 0 obj << /Type /Pages /Count %d >> endobj\n" % pages
    body += b"".join(b"%d 0 obj << /Type /Page /Parent 1 0 R >> endobj\n" % (k + 2) for k in range(pages))
    return base64.b64encode(body + b"%%EOF\n").decode()


@PATHS
def test_extended_thinking_comes_first_and_out_of_max_tokens(start_server, flags):
    with start_server(*FAST, *flags) as url, sdk(url) as client, httpx.Client(base_url=url) as c:
        before = served(c)
        m = client.messages.create(model=MODEL, max_tokens=1100, thinking=THINK, messages=USER)
        assert [b.type for b in m.content] == ["thinking", "text"]
        thinking, text = m.content
        assert thinking.thinking and len(thinking.signature) > 100
        spent = m.usage.output_tokens_details.thinking_tokens
        assert 256 <= spent <= 1024  # uniform between a quarter of the budget and the budget
        assert spent < m.usage.output_tokens <= 1100 and text.text

        # The SDK's stream helper accumulates the thinking and its signature.
        with client.messages.stream(model=MODEL, max_tokens=1100, thinking=THINK, messages=USER) as stream:
            events = list(stream)
            final = stream.get_final_message()
        deltas = [e.delta for e in events if e.type == "content_block_delta"]
        kinds = [d.type for d in deltas]
        first_text = kinds.index("text_delta")
        assert (
            set(kinds[: first_text - 1]) == {"thinking_delta"} and kinds[first_text - 1] == "signature_delta"
        )
        raw = [e for e in events if e.type in ("content_block_start", "content_block_stop")]
        assert [(e.type, e.index) for e in raw] == [
            ("content_block_start", 0),
            ("content_block_stop", 0),
            ("content_block_start", 1),
            ("content_block_stop", 1),
        ]
        assert raw[0].content_block.type == "thinking" and raw[2].content_block.type == "text"
        thought = "".join(d.thinking for d in deltas if d.type == "thinking_delta")
        signature = next(d.signature for d in deltas if d.type == "signature_delta")
        assert final.content[0].type == "thinking"
        assert final.content[0].thinking == thought and final.content[0].signature == signature
        text_deltas = kinds.count("text_delta")
        assert final.usage.output_tokens_details.thinking_tokens == final.usage.output_tokens - text_deltas

        # Disabled thinking is the plain answer; adaptive thinking takes the effort's range.
        plain = client.messages.create(
            model=MODEL, max_tokens=5, thinking={"type": "disabled"}, messages=USER
        )
        assert [b.type for b in plain.content] == ["text"]
        adaptive = client.messages.create(
            model=MODEL,
            max_tokens=4000,
            messages=USER,
            thinking={"type": "adaptive"},
            output_config={"effort": "low"},
        )
        assert adaptive.content[0].type == "thinking"
        assert 32 <= adaptive.usage.output_tokens_details.thinking_tokens <= 128
        assert served(c) == (before if flags else before + 4)


@PATHS
def test_thinking_budgets_anthropic_refuses_are_400s(start_server, flags):
    cases = [
        (
            {"max_tokens": 1024, "thinking": THINK},
            "`max_tokens` must be greater than `thinking.budget_tokens`",
        ),
        (
            {"max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 1023}},
            "greater than or equal to 1024",
        ),
        ({"max_tokens": 4000, "thinking": {"type": "enabled"}}, "thinking.enabled.budget_tokens"),
    ]
    with start_server(*FAST, *flags) as url, httpx.Client(base_url=url, headers=VERSION) as c:
        for extra, words in cases:
            r = c.post("/v1/messages", json={"model": MODEL, "messages": USER, **extra})
            assert r.status_code == 400, r.text
            body = r.json()
            assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
            assert words in body["error"]["message"]
        r = c.post(
            "/v1/messages/count_tokens",
            json={"model": MODEL, "messages": USER, "thinking": {"type": "enabled", "budget_tokens": 10}},
        )
        assert r.status_code == 400 and "1024" in r.json()["error"]["message"]


@PATHS
def test_prompt_caching_reads_what_the_prefix_cache_holds(start_server, flags):
    big = " ".join(f"rule{k}" for k in range(1500))
    system = [{"type": "text", "text": big, "cache_control": {"type": "ephemeral"}}]
    with start_server(*FAST, *flags) as url, sdk(url) as client:
        counted = client.messages.count_tokens(model=MODEL, messages=USER, system=system).input_tokens
        first = client.messages.create(model=MODEL, max_tokens=4, messages=USER, system=system).usage
        assert first.cache_read_input_tokens == 0 and first.cache_creation_input_tokens > 1500
        assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
        assert first.input_tokens + first.cache_creation_input_tokens == counted
        again = client.messages.create(model=MODEL, max_tokens=4, messages=USER, system=system).usage
        assert again.cache_read_input_tokens == first.cache_creation_input_tokens
        assert again.cache_creation_input_tokens == 0 and again.input_tokens == first.input_tokens

        # One hour for the system prompt, five minutes for the conversation up to its breakpoint.
        hour = [{**system[0], "text": "hourly " + big, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
        turn = [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "question " * 40, "cache_control": {"type": "ephemeral"}}
                ],
            }
        ]
        split = client.messages.create(model=MODEL, max_tokens=4, messages=turn, system=hour).usage
        assert split.cache_read_input_tokens == 0
        assert split.cache_creation.ephemeral_1h_input_tokens > 1500
        assert 40 <= split.cache_creation.ephemeral_5m_input_tokens <= 60
        assert split.cache_creation_input_tokens == (
            split.cache_creation.ephemeral_1h_input_tokens + split.cache_creation.ephemeral_5m_input_tokens
        )
        total = client.messages.count_tokens(model=MODEL, messages=turn, system=hour).input_tokens
        assert split.input_tokens + split.cache_creation_input_tokens == total

        # Without a breakpoint nothing is read or written, as with Anthropic: input is the count.
        plain = [{"type": "text", "text": big}]
        for _ in range(2):
            usage = client.messages.create(model=MODEL, max_tokens=4, messages=USER, system=plain).usage
            assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, 0)
            assert usage.input_tokens == counted

        # The request's own cache_control caches the whole prompt.
        auto = client.messages.create(
            model=MODEL,
            max_tokens=4,
            messages=USER,
            system=big,
            extra_body={"cache_control": {"type": "ephemeral"}},
        ).usage
        assert (
            auto.input_tokens == 0
            and auto.cache_read_input_tokens + auto.cache_creation_input_tokens == counted
        )

        # Streamed, message_start carries the same split.
        with client.messages.stream(model=MODEL, max_tokens=4, messages=USER, system=system) as stream:
            streamed = stream.get_final_message().usage
        assert streamed.cache_read_input_tokens == first.cache_creation_input_tokens


@PATHS
def test_every_block_kind_counts_as_input(start_server, flags):
    words = " ".join(["word"] * 300)

    def user(*blocks: dict) -> list[dict]:
        return [{"role": "user", "content": [*blocks, {"type": "text", "text": "describe"}]}]

    with start_server(*FAST, *flags) as url, sdk(url) as client:

        def count(messages: list[dict], **extra: object) -> int:
            n = client.messages.count_tokens(model=MODEL, messages=messages, **extra).input_tokens
            made = client.messages.create(model=MODEL, max_tokens=4, messages=messages, **extra)
            assert made.usage.input_tokens == n  # no breakpoint: what create charges is the count
            return n

        base = count(user())
        image = {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": png(1000, 1000)},
        }
        assert count(user(image)) - base == 1334  # 1000 * 1000 / 750, rounded up
        huge = {**image, "source": {**image["source"], "data": png(8000, 8000)}}
        assert count(user(huge)) - base == 1599  # scaled down to 1.2 megapixels
        url_image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
        assert count(user(url_image)) - base == 1399  # 1024 x 1024 assumed
        doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": words}}
        assert count(user(doc)) - base == 300
        pages = {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": pdf(3)},
        }
        assert count(user(pages)) - base == 3 * 3100
        result = [{"type": "text", "text": words}]
        turns = [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"q": words}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}],
            },
        ]
        short = [
            turns[0],
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"q": ""}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
        ]
        assert count(turns) - count(short) == 300 + 300 - 1  # the tool input's words, the result's (not "ok")
        # Thinking counts in the current (tool-use) turn; earlier turns' thinking is stripped.
        thought = {"type": "thinking", "thinking": words, "signature": "c2ln"}
        thinking_turn = [turns[0], {**turns[1], "content": [thought, *turns[1]["content"]]}, turns[2]]
        assert count(thinking_turn) - count(turns) == 300
        later = [
            *thinking_turn,
            {"role": "assistant", "content": "done"},
            {"role": "user", "content": "next"},
        ]
        assert count(later) == count([*turns, *later[3:]])
        # Tool definitions count, on count_tokens and (the Python route) create alike.
        tool = {"name": "w", "description": words, "input_schema": {"type": "object"}}
        with_tool = client.messages.count_tokens(model=MODEL, messages=USER, tools=[tool]).input_tokens
        assert with_tool - client.messages.count_tokens(model=MODEL, messages=USER).input_tokens > 300
        made = client.messages.create(model=MODEL, max_tokens=200, messages=USER, tools=[tool])
        assert made.usage.input_tokens == with_tool

    with start_server(*FAST, *flags) as url, httpx.Client(base_url=url, headers=VERSION) as c:
        bad = {**image, "source": {**image["source"], "data": "!!!notbase64"}}
        for path in ("/v1/messages", "/v1/messages/count_tokens"):
            r = c.post(path, json={"model": MODEL, "max_tokens": 4, "messages": user(bad)})
            assert r.status_code == 400 and r.json()["type"] == "error"
            assert "messages.0.content.0.image.source.base64" in r.json()["error"]["message"]
        not_image = {**image, "source": {**image["source"], "data": base64.b64encode(b"plain text").decode()}}
        r = c.post("/v1/messages", json={"model": MODEL, "max_tokens": 4, "messages": user(not_image)})
        assert r.status_code == 400 and "Could not process image" in r.json()["error"]["message"]
        # Images count against the context window too.
        many = user(*[image] * 160)
        r = c.post("/v1/messages", json={"model": MODEL, "max_tokens": 4, "messages": many})
        assert r.status_code == 400 and "prompt is too long" in r.json()["error"]["message"]


@PATHS
def test_echo_mode_answers_the_last_user_message(start_server, flags):
    turns = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Echo me back:"}, {"type": "text", "text": "12345 times!"}],
        },
    ]
    with (
        start_server(*FAST, *flags, "--mode", "echo") as url,
        sdk(url) as client,
        httpx.Client(base_url=url) as c,
    ):
        before = served(c)
        m = client.messages.create(model=MODEL, max_tokens=100, messages=turns)
        assert m.content[0].text == "Echo me back: 12345 times!" and m.stop_reason == "end_turn"
        with client.messages.stream(model=MODEL, max_tokens=100, messages=turns) as stream:
            assert "".join(stream.text_stream) == "Echo me back: 12345 times!"
        cut = client.messages.create(model=MODEL, max_tokens=3, messages=turns)
        assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 3
        assert cut.content[0].text == "Echo me back"
        stopped = client.messages.create(model=MODEL, max_tokens=100, messages=turns, stop_sequences=[" 123"])
        assert stopped.content[0].text == "Echo me back:" and stopped.stop_sequence == " 123"
        assert served(c) == (before if flags else before + 4)
    # The header asks for it per request (the Python route), as on chat completions.
    with start_server(*FAST, *flags) as url, sdk(url) as client:
        m = client.messages.create(
            model=MODEL, max_tokens=100, messages=USER, extra_headers={"x-fakeai-mode": "echo"}
        )
        assert m.content[0].text == USER[0]["content"]
        random = client.messages.create(model=MODEL, max_tokens=100, messages=USER)
        assert random.content[0].text != USER[0]["content"]
