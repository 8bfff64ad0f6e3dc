"""Error injection: envelopes, a deterministic rate and mix, per-route rules, x-fakeai-error."""

from __future__ import annotations

import collections

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}


def _codes(url: str, n: int) -> list[int]:
    with httpx.Client() as c:
        return [c.post(url + "/v1/chat/completions", json=CHAT).status_code for _ in range(n)]


def test_rate_and_mix_are_deterministic_with_a_seed(start_server):
    flags = (
        "--ttft",
        "0",
        "--itl",
        "0",
        "--error-rate",
        "0.3",
        "--error-mix",
        "500=2,503,429",
        "--fault-seed",
        "7",
    )
    with start_server(*flags) as url:
        first = _codes(url, 200)
        assert (
            httpx.get(url + "/v1/models").status_code == 200
        )  # only POST routes under /v1/ count... and GETs
    with start_server(*flags) as url:
        again = _codes(url, 200)
    assert first == again
    counts = collections.Counter(first)
    assert set(counts) <= {200, 500, 503, 429}
    errors = 200 - counts[200]
    assert 40 <= errors <= 80, counts
    assert counts[500] > counts[503] and counts[500] > counts[429]
    with start_server(*flags[:-1], "8") as url:
        assert _codes(url, 200) != first


def test_injected_errors_have_openais_status_and_envelope(base_url):
    expected = {
        "500": (500, "server_error", None),
        "502": (502, "server_error", "bad_gateway"),
        "503": (503, "server_error", "overloaded"),
        "504": (504, "server_error", "timeout"),
        "429": (429, "insufficient_quota", "insufficient_quota"),
        "rate_limit_exceeded": (429, "requests", "rate_limit_exceeded"),
        "context_length_exceeded": (400, "invalid_request_error", "context_length_exceeded"),
        "401": (401, "invalid_request_error", "invalid_api_key"),
    }
    for header, (status, kind, code) in expected.items():
        r = httpx.post(base_url + "/v1/chat/completions", json=CHAT, headers={"x-fakeai-error": header})
        assert r.status_code == status
        assert r.json()["error"]["type"] == kind and r.json()["error"]["code"] == code
    r = httpx.post(base_url + "/v1/chat/completions", json=CHAT, headers={"x-fakeai-error": "418"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "x-fakeai-error"


def test_sdk_sees_injected_errors_as_its_exceptions(client):
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(**CHAT, extra_headers={"x-fakeai-error": "503"})
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(**CHAT, extra_headers={"x-fakeai-error": "400"})
    assert exc.value.code == "context_length_exceeded"


def test_rules_per_route_and_model_from_a_scenario(start_server, tmp_path):
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        "ttft_ms: 0\nitl_ms: 0\nerrors:\n  - route: /v1/chat/completions\n    model: bad-model\n"
        "    rate: 1.0\n    mix: '502'\n"
    )
    with start_server("--config", str(cfg)) as url:
        assert (
            httpx.post(url + "/v1/chat/completions", json={**CHAT, "model": "bad-model"}).status_code == 502
        )
        assert httpx.post(url + "/v1/chat/completions", json=CHAT).status_code == 200
        assert (
            httpx.post(url + "/v1/completions", json={"model": "bad-model", "prompt": "x"}).status_code == 200
        )


def test_overrides_can_be_turned_off(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--no-request-overrides") as url:
        r = httpx.post(url + "/v1/chat/completions", json=CHAT, headers={"x-fakeai-error": "503"})
        assert r.status_code == 200


def test_anthropic_route_gets_anthropics_envelopes(start_server):
    import anthropic

    with (
        start_server("--ttft", "0", "--itl", "0", "--rpm", "1") as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude,
    ):
        args = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(anthropic.InternalServerError) as exc:
            claude.messages.create(**args, extra_headers={"x-fakeai-error": "503"})
        assert exc.value.status_code == 529  # Anthropic's status for an overloaded API
        assert exc.value.body["error"]["type"] == "overloaded_error"  # the 1 RPM went to this request
        with pytest.raises(anthropic.RateLimitError) as exc:
            claude.messages.create(**args)
        assert exc.value.body["type"] == "error" and exc.value.body["error"]["type"] == "rate_limit_error"
        assert exc.value.response.headers["retry-after"]


def test_the_retryable_429_by_flag_environment_and_scenario(start_server, tmp_path):
    """``rate_limit_exceeded`` is a kind wherever kinds are named: ``--error-mix``, ``FAKEAI_ERROR_MIX``,
    a scenario rule's ``mix`` (and ``x-fakeai-error``, tested with the retries)."""
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        "ttft_ms: 0\nitl_ms: 0\nerrors:\n  - route: /v1/chat/completions\n    rate: 1.0\n"
        "    mix: 'rate_limit_exceeded'\n"
    )
    fast = ("--ttft", "0", "--itl", "0")
    runs = [
        start_server(*fast, "--error-rate", "1", "--error-mix", "rate_limit_exceeded"),
        start_server(*fast, "--error-rate", "1", env={"FAKEAI_ERROR_MIX": "rate_limit=2,429"}),
        start_server("--config", str(cfg)),
    ]
    for run in runs:
        with run as url:
            r = httpx.post(url + "/v1/chat/completions", json=CHAT)
            assert r.status_code == 429, r.text
            if r.json()["error"]["code"] == "rate_limit_exceeded":
                assert r.json()["error"]["type"] == "requests" and r.headers["retry-after"] == "1"
            else:
                assert r.json()["error"]["code"] == "insufficient_quota" and "retry-after" not in r.headers
