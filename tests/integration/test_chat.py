"""``POST /v1/chat/completions`` through the official openai SDK (sync, async, streaming)."""

from __future__ import annotations

import asyncio
import math
import re

import openai
import pytest

pytestmark = pytest.mark.integration

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Explain prefix caching in one paragraph."},
]


def test_completion_has_the_shape_the_sdk_parses(client):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=20)
    assert r.id.startswith("chatcmpl-") and len(r.id) > 20
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o"
    assert r.system_fingerprint.startswith("fp_")
    assert isinstance(r.created, int)
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")
    u = r.usage
    assert u.completion_tokens <= 20
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details.cached_tokens == 0
    assert u.completion_tokens_details.reasoning_tokens == 0


def test_max_tokens_is_never_exceeded_and_length_means_the_cap(client):
    for max_tokens in (1, 5, 37):
        for kind in ("max_tokens", "max_completion_tokens"):
            r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, **{kind: max_tokens})
            assert r.usage.completion_tokens <= max_tokens
            if r.choices[0].finish_reason == "length":
                assert r.usage.completion_tokens == max_tokens


def test_ignore_eos_generates_exactly_max_tokens(client):
    r = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=300, extra_body={"ignore_eos": True}
    )
    assert r.usage.completion_tokens == 300
    assert r.choices[0].finish_reason == "length"


def test_same_seed_same_output_and_different_seed_differs(client):
    kw = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 30, "seed": 1234}
    a = client.chat.completions.create(**kw).choices[0].message.content
    b = client.chat.completions.create(**kw).choices[0].message.content
    c = client.chat.completions.create(**{**kw, "seed": 99}).choices[0].message.content
    assert a == b
    assert a != c


def test_n_choices_are_indexed_and_usage_adds_up(client):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=3, max_tokens=10, seed=1)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert len({c.message.content for c in r.choices}) == 3
    assert r.usage.completion_tokens <= 30


def test_stop_sequence_cuts_the_text(client):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=200, stop=["."], seed=3)
    assert "." not in r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop"


def test_logprobs_and_top_logprobs(client):
    r = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=8, logprobs=True, top_logprobs=3
    )
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0
        assert bytes(t.bytes).decode() == t.token
        assert len(t.top_logprobs) == 3


def test_top_logprobs_are_one_distribution(client):
    """#17: the alternatives come from one softmax: sorted, distinct, summing to at most 1, and the
    chosen token's own entry (when listed) carries its logprob. The issue's repro, over 40 seeds."""
    led = total = 0
    for seed in range(26, 66):
        r = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Say something."}],
            max_tokens=8,
            logprobs=True,
            top_logprobs=3,
            seed=seed,
        )
        for t in r.choices[0].logprobs.content:
            top = [(a.token, a.logprob) for a in t.top_logprobs]
            assert len(top) == 3 and len({tok for tok, _ in top}) == 3
            assert [lp for _, lp in top] == sorted((lp for _, lp in top), reverse=True)
            assert sum(math.exp(lp) for _, lp in top) <= 1.0 + 1e-6, top
            own = [lp for tok, lp in top if tok == t.token]
            assert own in ([], [t.logprob])
            led += top[0][0] == t.token
            total += 1
    assert total == 320 and led > total / 2  # the sampled token is usually the most likely one


def test_content_parts_and_metadata_are_accepted(client):
    r = client.chat.completions.create(
        model="meta-llama/Llama-3.1-8B-Instruct",
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "again"}],
            }
        ],
        max_tokens=5,
        temperature=0.2,
        top_p=0.9,
        presence_penalty=0.5,
        frequency_penalty=0.1,
        user="u-1",
        metadata={"k": "v"},
    )
    assert r.usage.prompt_tokens > 2


def test_prompt_tokens_grow_with_the_prompt(client):
    short = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], max_tokens=1
    )
    long = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": " ".join(["Hi"] * 100)}], max_tokens=1
    )
    assert long.usage.prompt_tokens - short.usage.prompt_tokens == 99


def test_stream_chunks_and_usage(client):
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=12, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.service_tier == "default" and c.system_fingerprint for c in chunks)  # as OpenAI's
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 1
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage.completion_tokens <= 12 and usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert text


def test_stream_matches_non_stream_for_the_same_seed(client):
    kw = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 25, "seed": 77}
    whole = client.chat.completions.create(**kw).choices[0].message.content
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(**kw, stream=True)
        if c.choices
    )
    assert streamed == whole


def test_stream_with_n_interleaves_indexes(client):
    chunks = list(
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=4, n=2, stream=True)
    )
    indexes = {c.choices[0].index for c in chunks if c.choices}
    assert indexes == {0, 1}


def test_async_client_streams_and_completes(base_url):
    async def go():
        async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="k", max_retries=0) as c:
            r = await c.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
            stream = await c.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, max_tokens=5, stream=True
            )
            parts = [chunk async for chunk in stream]
            return r, parts

    r, parts = asyncio.run(go())
    assert r.choices[0].message.content
    assert parts[-1].choices[0].finish_reason in ("stop", "length")


def test_unknown_model_is_accepted_and_registered(client):
    r = client.chat.completions.create(model="acme/brand-new-model", messages=MESSAGES, max_tokens=2)
    assert r.model == "acme/brand-new-model"
    assert client.models.retrieve("acme/brand-new-model").id == "acme/brand-new-model"


def test_sse_framing_on_the_wire(http):
    body = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 3, "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = b"".join(r.iter_bytes())
    events = raw.split(b"\n\n")
    assert events[-1] == b""
    assert events[-2] == b"data: [DONE]"
    assert all(e.startswith(b"data: {") for e in events[:-2])


def test_a_paced_stream_sends_the_bytes_of_one_sent_at_once(http):
    """A stream with an inter-token latency renders each step as it goes out; one without renders all
    of them up front: the same events either way (but for the random id and the clock)."""
    body = {
        "model": "gpt-4o",
        "messages": MESSAGES,
        "max_tokens": 9,
        "n": 2,
        "seed": 11,
        "logprobs": True,
        "top_logprobs": 2,
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    def events(headers: dict[str, str]) -> list[bytes]:
        with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            raw = b"".join(r.iter_bytes())
        masked = re.sub(rb'"id":"chatcmpl-\w+","object":"chat.completion.chunk","created":\d+', b"ID", raw)
        return masked.split(b"\n\n")

    paced, at_once = events({"x-fakeai-itl-ms": "1"}), events({})
    assert paced == at_once
    assert paced[-2] == b"data: [DONE]" and len(paced) > 2 * 9
    assert all(e.startswith(b"data: {ID") for e in paced[:-2])
