"""Reasoning models: ``reasoning_content``, ``reasoning_effort`` and ``reasoning_tokens``. OpenAI's own
reasoning models (o-series, GPT-5) show no ``reasoning_content`` in chat, as OpenAI's do
(``test_openai_reasoning_models.py``): the reasoning text is tested on open models here."""

from __future__ import annotations

import statistics

import pytest

pytestmark = pytest.mark.integration

ASK = [{"role": "user", "content": "How many primes are below 100?"}]


def test_reasoning_content_and_tokens(client):
    r = client.chat.completions.create(model="deepseek-ai/DeepSeek-R1", messages=ASK, seed=1)
    msg = r.choices[0].message
    reasoning = msg.model_extra["reasoning_content"]
    assert reasoning and msg.content
    details = r.usage.completion_tokens_details
    assert 128 <= details.reasoning_tokens <= 512  # medium effort
    assert r.usage.completion_tokens > details.reasoning_tokens


def test_effort_scales_the_reasoning(client):
    def tokens(effort: str) -> float:
        return statistics.mean(
            client.chat.completions.create(
                model="o3-mini", messages=ASK, reasoning_effort=effort, seed=s, max_completion_tokens=5000
            ).usage.completion_tokens_details.reasoning_tokens
            for s in range(4)
        )

    low, medium, high = tokens("low"), tokens("medium"), tokens("high")
    assert low < medium < high
    assert low <= 128 and high >= 512


def test_the_sdks_newer_efforts(client):
    """``none`` (GPT-5.1's: no reasoning at all; gpt-5 and the o-series refuse it, see
    test_responses_timing), ``xhigh`` and ``max``, as the SDK types them."""
    for model in ("gpt-5.1", "Qwen/Qwen3-8B"):
        off = client.chat.completions.create(model=model, messages=ASK, reasoning_effort="none", seed=1)
        assert off.usage.completion_tokens_details.reasoning_tokens == 0
        message = off.choices[0].message
        assert getattr(message, "reasoning_content", None) is None and message.content
        on = client.chat.completions.create(model=model, messages=ASK, reasoning_effort="low", seed=1)
        assert (model == "gpt-5.1") != bool(
            (on.choices[0].message.model_extra or {}).get("reasoning_content")
        )
    for effort, (lo, hi) in [("xhigh", (2048, 8192)), ("max", (8192, 32768))]:
        r = client.chat.completions.create(
            model="o3-mini", messages=ASK, reasoning_effort=effort, seed=1, max_completion_tokens=40_000
        )
        assert lo <= r.usage.completion_tokens_details.reasoning_tokens <= hi, effort


def test_max_completion_tokens_bounds_reasoning_and_answer(client):
    r = client.chat.completions.create(model="Qwen/Qwen3-8B", messages=ASK, max_completion_tokens=40, seed=2)
    assert r.usage.completion_tokens == 40
    assert r.usage.completion_tokens_details.reasoning_tokens == 40
    assert r.choices[0].message.content == "" and r.choices[0].finish_reason == "length"
    r = client.chat.completions.create(
        model="Qwen/Qwen3-8B", messages=ASK, max_completion_tokens=300, reasoning_effort="minimal", seed=2
    )
    details = r.usage.completion_tokens_details
    assert details.reasoning_tokens <= 32 and r.usage.completion_tokens <= 300


def test_stream_sends_reasoning_before_content(client):
    stream = client.chat.completions.create(
        model="openai/gpt-oss-20b",
        messages=ASK,
        reasoning_effort="low",
        max_tokens=200,
        stream=True,
        stream_options={"include_usage": True},
        seed=3,
    )
    kinds, reasoning = [], []
    usage = None
    for chunk in stream:
        if not chunk.choices:
            usage = chunk.usage
            continue
        delta = chunk.choices[0].delta
        if (delta.model_extra or {}).get("reasoning_content"):
            kinds.append("r")
            reasoning.append(delta.model_extra["reasoning_content"])
        elif delta.content:
            kinds.append("c")
    assert kinds[0] == "r" and "c" in kinds
    assert kinds == sorted(kinds, key=lambda k: k == "c")
    assert len(reasoning) == usage.completion_tokens_details.reasoning_tokens


def test_plain_models_have_no_reasoning(client):
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=5)
    assert "reasoning_content" not in (r.choices[0].message.model_extra or {})
    assert r.usage.completion_tokens_details.reasoning_tokens == 0


@pytest.mark.parametrize("model, effort", [("gpt-4o", "high"), ("deepseek-ai/DeepSeek-R1", "extreme")])
def test_bad_reasoning_effort_is_a_400(http, model, effort):
    r = http.post("/v1/chat/completions", json={"model": model, "messages": ASK, "reasoning_effort": effort})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "reasoning_effort"


@pytest.mark.parametrize("model", ["gpt-5", "gpt-5.4-mini", "o3-mini-2025-01-31"])
def test_the_sdks_reasoning_model_ids_reason(client, model):
    """Model ids the SDK names (newer than the catalog, or a dated snapshot) are reasoning models."""
    r = client.chat.completions.create(model=model, messages=ASK, reasoning_effort="low", seed=4)
    assert 32 <= r.usage.completion_tokens_details.reasoning_tokens <= 128 and r.model == model
    card = client.models.retrieve(model)
    assert "reasoning" in card.model_extra["capabilities"]
