from __future__ import annotations

import collections

import orjson
import pytest

from fakeai.gateway import faults


def test_kinds_by_code_and_alias():
    assert faults.kind("503") is faults.kind("overloaded")
    assert faults.kind(" Context_Length_Exceeded ").status == 400
    with pytest.raises(ValueError, match="unknown error kind"):
        faults.kind("418")


def test_envelopes():
    quota = orjson.loads(faults.kind("429").openai_body())["error"]
    assert quota["type"] == quota["code"] == "insufficient_quota"
    assert orjson.loads(faults.kind("400").openai_body())["error"]["param"] == "messages"
    assert orjson.loads(faults.kind("503").anthropic_body()) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert faults.kind("503").status_for(anthropic=True) == 529
    assert faults.kind("503").status_for(anthropic=False) == 503
    too_long = orjson.loads(faults.kind("400").anthropic_body())["error"]
    assert too_long == {
        "type": "invalid_request_error",
        "message": "prompt is too long: 131072 tokens > 128000 maximum",
    }
    assert orjson.loads(faults.kind("401").anthropic_body())["error"]["type"] == "authentication_error"


def test_which_429s_ask_for_a_retry():
    quota, limited = faults.kind("insufficient_quota"), faults.kind("rate_limit")
    assert limited is faults.kind("rate_limit_exceeded") and limited.status == quota.status == 429
    assert orjson.loads(limited.openai_body())["error"] == {
        "message": limited.message,
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    # OpenAI sends retry-after on a rate limit, none on a billing error; Anthropic on every 429
    assert limited.retries_after(anthropic=False) and not quota.retries_after(anthropic=False)
    assert limited.retries_after(anthropic=True) and quota.retries_after(anthropic=True)
    for fault in (quota, limited):
        error = orjson.loads(fault.anthropic_body())["error"]
        assert error["type"] == "rate_limit_error" and "rate limit" in error["message"]
        assert "openai" not in error["message"]
    assert not faults.kind("503").retries_after(anthropic=True)


def test_unit_is_deterministic_and_uniform():
    draws = [faults.unit(7, n, 1) for n in range(10_000)]
    assert draws == [faults.unit(7, n, 1) for n in range(10_000)]
    assert draws != [faults.unit(8, n, 1) for n in range(10_000)]
    assert all(0 <= u < 1 for u in draws)
    assert 0.47 < sum(draws) / len(draws) < 0.53
    assert 0.07 < sum(u < 0.1 for u in draws) / len(draws) < 0.13


def test_mix_follows_weights():
    mix = faults.Mix("500=3, 503", faults.kind, "--error-mix")
    picks = collections.Counter(mix.pick(faults.unit(1, n, 2)).status for n in range(4000))
    assert set(picks) == {500, 503} and 2.5 < picks[500] / picks[503] < 3.5
    for bad, needle in [("", "names no kind"), ("500=0", "must be > 0"), ("nope", "unknown error kind")]:
        with pytest.raises(ValueError, match=needle):
            faults.Mix(bad, faults.kind, "--error-mix")
