from __future__ import annotations

from fakeai.gateway.limits import Limits, estimate_tokens, peek, resolve
from fakeai.gateway.scenario import Scenario
from fakeai.settings import Settings


def test_tier_presets_flags_and_per_key_overrides():
    s = Settings(rate_limit_tier="tier-1", tpm=50_000)
    sc = Scenario(keys={"sk-a": {"tier": "free", "rpm": 9}, "sk-b": {"rpd": 5}}, tiers={"free": {"tpm": 1}})
    assert resolve(s, sc) == Limits(500, 50_000, 0, 0)
    assert resolve(s, sc, "sk-a") == Limits(9, 1, 200, 0)
    assert resolve(s, sc, "sk-b") == Limits(500, 50_000, 5, 0)
    assert resolve(Settings(), Scenario()) == Limits() and not Limits().any


def test_token_estimate_is_prompt_bytes_over_four_plus_the_budget():
    body = b'{"model":"m","messages":[{"role":"user","content":"hello there"}],"max_tokens":100,"n":2}'
    assert estimate_tokens(body, peek(body), "/v1/chat/completions") == len(body) // 4 + 200
    assert estimate_tokens(b"{}", peek(b"{}"), "/v1/chat/completions") == 512
    assert estimate_tokens(b'{"input":"x"}', peek(b'{"input":"x"}'), "/v1/embeddings") == 3
    assert peek(b"{not json").model is None
