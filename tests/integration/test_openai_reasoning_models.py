"""OpenAI's own reasoning models (o-series, GPT-5 and later) on Chat Completions, as OpenAI serves them,
driven by the official ``openai`` SDK: the parameters OpenAI refuses for them are 400s with OpenAI's
``param``, ``code`` and words; their defaults pass; the answer shows no reasoning text (no
``reasoning_content``, streamed or not), only ``reasoning_tokens``, and a stream's first chunk comes
when the thinking is done; the Responses API still has its reasoning item. Open reasoning models
served by vLLM (DeepSeek-R1, Qwen3, gpt-oss) keep ``reasoning_content``. Every test runs on the Rust
hot path and on the Python route (``--no-hot-path``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from .test_hot_path import served

pytestmark = pytest.mark.integration

ASK = [{"role": "user", "content": "How many primes are below 100?"}]
#: Streams take their time (5 ms a token, no jitter) so that the thinking shows in the timing.
ITL_MS = 5
FLAGS = ("--ttft", "0", "--itl", str(ITL_MS), "--jitter", "0")


@pytest.fixture(scope="module", params=[(), ("--no-hot-path",)], ids=["rust", "python"])
def url(request, start_server) -> Iterator[str]:
    with start_server(*FLAGS, *request.param) as base:
        yield base


@pytest.fixture()
def hot(url: str, request) -> bool:
    """Whether ``url`` serves chat on the Rust hot path."""
    return "--no-hot-path" not in request.node.callspec.params["url"]


@pytest.fixture()
def client(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30) as c:
        yield c


def only_default(param: str, value: str) -> str:
    return f"Unsupported value: '{param}' does not support {value} with this model. Only the default (1) value is supported."


def unsupported(param: str) -> str:
    return f"Unsupported parameter: '{param}' is not supported with this model."


MAX_TOKENS = unsupported("max_tokens") + " Use 'max_completion_tokens' instead."


@pytest.mark.parametrize(
    "model, extra, param, code, message",
    [
        (
            "gpt-5",
            {"temperature": 0.2},
            "temperature",
            "unsupported_value",
            only_default("temperature", "0.2"),
        ),
        ("o3-mini", {"temperature": 0}, "temperature", "unsupported_value", only_default("temperature", "0")),
        ("o3", {"top_p": 0.5}, "top_p", "unsupported_value", only_default("top_p", "0.5")),
        ("o4-mini", {"max_tokens": 10}, "max_tokens", "unsupported_parameter", MAX_TOKENS),
        ("gpt-5-mini", {"presence_penalty": 0.5}, "presence_penalty", "unsupported_parameter", None),
        ("gpt-5-nano", {"frequency_penalty": -1}, "frequency_penalty", "unsupported_parameter", None),
        ("o1", {"logprobs": True, "top_logprobs": 2}, "logprobs", "unsupported_parameter", None),
        # a dated snapshot and an id newer than the catalog are the same models
        ("o3-mini-2025-01-31", {"temperature": 0.7}, "temperature", "unsupported_value", None),
        ("gpt-5.4-mini", {"reasoning_effort": "low", "top_p": 0.9}, "top_p", "unsupported_value", None),
        # GPT-5.1 and later sample at reasoning_effort "none" (their default), not while they reason
        (
            "gpt-5.2",
            {"reasoning_effort": "medium", "temperature": 0.2},
            "temperature",
            "unsupported_value",
            None,
        ),
        ("gpt-5.1", {"reasoning_effort": "low", "logprobs": True}, "logprobs", "unsupported_parameter", None),
        # ... and never take max_tokens
        ("gpt-5.2", {"max_tokens": 10}, "max_tokens", "unsupported_parameter", MAX_TOKENS),
    ],
)
def test_what_openai_refuses_is_a_400_in_its_words(client, model, extra, param, code, message):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=ASK, **extra)
    e = caught.value
    assert (e.status_code, e.param, e.code) == (400, param, code)
    assert e.body["type"] == "invalid_request_error"  # type: ignore[index]
    if message is None:
        value = extra[param]
        message = only_default(param, f"{value:g}") if code == "unsupported_value" else unsupported(param)
    assert e.body["message"] == message  # type: ignore[index]


def test_the_defaults_pass(client, url, hot):
    with httpx.Client(base_url=url) as c:
        before = served(c)
        r = client.chat.completions.create(
            model="gpt-5",
            messages=ASK,
            temperature=1,
            top_p=1,
            presence_penalty=0,
            frequency_penalty=0,
            logprobs=False,
            max_completion_tokens=2000,
            reasoning_effort="low",
            n=2,
            seed=1,
        )
        after = served(c)
    assert len(r.choices) == 2 and all(c.message.content for c in r.choices)
    assert 2 * 32 <= r.usage.completion_tokens_details.reasoning_tokens <= 2 * 128
    assert after - before == (1 if hot else 0)  # the hot path served it, where there is one


@pytest.mark.parametrize("model", ["gpt-5.2", "gpt-5.1", "gpt-5.4-mini"])
@pytest.mark.parametrize("effort", [None, "none"])
def test_gpt_5_1_and_later_sample_at_effort_none(client, model, effort):
    """OpenAI: temperature, top_p and logprobs are supported with GPT-5.1+ at reasoning effort none,
    their default; fakeai takes the penalties there too (OpenAI's docs do not say) and, as OpenAI,
    does not think at none."""
    extra = {} if effort is None else {"reasoning_effort": effort}
    r = client.chat.completions.create(
        model=model,
        messages=ASK,
        temperature=0.2,
        top_p=0.5,
        presence_penalty=0.5,
        logprobs=True,
        top_logprobs=2,
        max_completion_tokens=20,
        **extra,
    )
    assert r.usage.completion_tokens_details.reasoning_tokens == 0
    assert r.choices[0].message.content and r.choices[0].logprobs.content


def test_chat_shows_no_reasoning_but_counts_it(client):
    r = client.chat.completions.create(model="gpt-5", messages=ASK, reasoning_effort="low", seed=2)
    msg = r.choices[0].message
    assert "reasoning_content" not in (msg.model_extra or {}) and msg.content
    reasoning = r.usage.completion_tokens_details.reasoning_tokens
    assert 32 <= reasoning <= 128 and r.usage.completion_tokens > reasoning


def test_a_stream_sends_nothing_while_the_model_thinks(client, url):
    body = {"model": "o3-mini", "messages": ASK, "reasoning_effort": "low", "max_completion_tokens": 200}
    start = time.monotonic()
    stream = client.chat.completions.create(
        **body, stream=True, stream_options={"include_usage": True}, seed=3
    )
    first_at, chunks, usage = None, [], None
    for chunk in stream:
        first_at = first_at or time.monotonic() - start
        if not chunk.choices:
            usage = chunk.usage
            continue
        chunks.append(chunk.choices[0].delta)
    assert usage is not None and first_at is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert 32 <= reasoning <= 128
    assert all("reasoning_content" not in (d.model_extra or {}) for d in chunks)
    # the first chunk is the role, then one chunk per answer token
    assert chunks[0].role == "assistant" and chunks[0].content == ""
    answer = [d.content for d in chunks[1:] if d.content]
    assert len(answer) == usage.completion_tokens - reasoning
    # it comes once the reasoning tokens are spent (5 ms each)
    assert first_at >= 0.8 * reasoning * ITL_MS / 1000
    # the raw stream carries no reasoning text either, and no empty event
    with httpx.Client(base_url=url, timeout=30) as c:
        raw = c.post("/v1/chat/completions", json={**body, "stream": True}).text
    assert "reasoning" not in raw and "\n\n\n" not in raw and raw.endswith("data: [DONE]\n\n")


def test_open_reasoning_models_keep_reasoning_content(client):
    for model in ("deepseek-ai/DeepSeek-R1", "openai/gpt-oss-20b", "Qwen/Qwen3-8B"):
        # vLLM takes the sampling parameters and max_tokens
        r = client.chat.completions.create(
            model=model, messages=ASK, temperature=0.2, max_tokens=300, reasoning_effort="low", seed=4
        )
        assert r.choices[0].message.model_extra["reasoning_content"], model
        stream = client.chat.completions.create(
            model=model, messages=ASK, max_tokens=300, reasoning_effort="low", stream=True, seed=4
        )
        deltas = [c.choices[0].delta for c in stream if c.choices]
        assert any((d.model_extra or {}).get("reasoning_content") for d in deltas), model


def test_responses_keep_the_reasoning_item(client):
    r = client.responses.create(
        model="gpt-5",
        input="How many primes are below 100?",
        reasoning={"effort": "low", "summary": "auto"},
        max_output_tokens=2000,
    )
    assert [item.type for item in r.output] == ["reasoning", "message"]
    reasoning = r.output[0]
    assert reasoning.summary and reasoning.summary[0].text
    assert 32 <= r.usage.output_tokens_details.reasoning_tokens <= 128
