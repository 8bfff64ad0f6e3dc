"""``POST /v1/completions`` (legacy) through the official openai SDK."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.integration


def test_string_prompt(client):
    r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Once upon a time", max_tokens=10)
    assert r.id.startswith("cmpl-")
    assert r.object == "text_completion"
    assert r.choices[0].text
    assert r.usage.prompt_tokens == 4
    assert r.usage.completion_tokens <= 10


def test_default_max_tokens_is_16_like_openai(client):
    r = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Hi", extra_body={"ignore_eos": True}
    )
    assert r.usage.completion_tokens == 16


def test_prompt_lists_and_token_ids(client):
    r = client.completions.create(model="m", prompt=["a b", "c d e"], max_tokens=3, n=2)
    assert len(r.choices) == 4
    assert [c.index for c in r.choices] == [0, 1, 2, 3]
    assert r.usage.prompt_tokens == 5
    r = client.completions.create(model="m", prompt=[1, 2, 3, 4], max_tokens=3)
    assert r.usage.prompt_tokens == 4
    r = client.completions.create(model="m", prompt=[[1, 2], [3, 4, 5]], max_tokens=3)
    assert r.usage.prompt_tokens == 5 and len(r.choices) == 2


def test_echo_and_logprobs(client):
    r = client.completions.create(model="m", prompt="Hello world", max_tokens=4, echo=True, logprobs=2)
    c = r.choices[0]
    assert c.text.startswith("Hello world")
    lp = c.logprobs
    assert lp.tokens[:2] == ["Hello", " world"]
    assert lp.token_logprobs[0] is None
    assert "".join(lp.tokens) == c.text
    assert lp.text_offset[2] == len("Hello world")
    assert all(len(t) == 2 for t in lp.top_logprobs[2:])


def test_legacy_top_logprobs_are_one_distribution(client):
    """#17, legacy completions: each ``top_logprobs`` dict is a distribution's head, most likely first."""
    for seed in range(26, 46):
        r = client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Say something.", max_tokens=8, logprobs=3, seed=seed
        )
        lp = r.choices[0].logprobs
        for token, logprob, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs, strict=True):
            values = list(top.values())
            assert len(values) == 3 and values == sorted(values, reverse=True)
            assert sum(math.exp(v) for v in values) <= 1.0 + 1e-6, top
            if token in top:
                assert top[token] == logprob


def test_echo_with_zero_max_tokens_scores_the_prompt(client):
    r = client.completions.create(model="m", prompt="Score me", max_tokens=0, echo=True, logprobs=0)
    assert r.choices[0].text == "Score me"
    assert r.usage.completion_tokens == 0


def test_suffix_is_accepted(client):
    r = client.completions.create(model="m", prompt="def f():", suffix="return 1", max_tokens=4)
    assert r.choices[0].text


def test_stream(client):
    chunks = list(
        client.completions.create(
            model="m", prompt="Go", max_tokens=5, stream=True, stream_options={"include_usage": True}, seed=5
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    whole = client.completions.create(model="m", prompt="Go", max_tokens=5, seed=5).choices[0].text
    assert text == whole
    assert chunks[-1].usage.completion_tokens == 5 or chunks[-1].usage.completion_tokens <= 5


def test_bad_prompts_are_400_naming_prompt(http):
    for prompt in ([], [1, "a"], [[1], "a"], [[]], 5, [-1]):
        r = http.post("/v1/completions", json={"model": "m", "prompt": prompt})
        assert r.status_code == 400, prompt
        assert r.json()["error"]["param"] == "prompt", prompt


def test_zero_max_tokens_without_echo_is_400(http):
    r = http.post("/v1/completions", json={"model": "m", "prompt": "x", "max_tokens": 0})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "max_tokens"
