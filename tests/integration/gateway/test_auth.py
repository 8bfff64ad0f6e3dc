"""API keys: 401 envelopes, hashed keys, open health/metrics/dashboard paths, Anthropic's x-api-key."""

from __future__ import annotations

import hashlib
import json

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

KEY = "sk-test-0123456789abcd"
HASHED = "sk-hashed-key-42"


@pytest.fixture(scope="module")
def url(start_server):
    digest = hashlib.sha256(HASHED.encode()).hexdigest()
    with start_server("--ttft", "0", "--itl", "0", "--api-key", KEY, "--api-key", f"sha256:{digest}") as u:
        yield u


def test_wrong_and_missing_keys_get_openais_401(url):
    with (
        openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong-999999abcd", max_retries=0) as c,
        pytest.raises(openai.AuthenticationError) as exc,
    ):
        c.models.list()
    body = exc.value.body
    assert exc.value.status_code == 401 and body["code"] == "invalid_api_key"
    assert body["type"] == "invalid_request_error"
    assert body["message"].startswith("Incorrect API key provided: sk-") and "abcd." in body["message"]
    assert "wrong-999999" not in body["message"]
    r = httpx.post(url + "/v1/chat/completions", json={"model": "m", "messages": []})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_plain_and_hashed_keys_are_accepted(url):
    for key in (KEY, HASHED):
        with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0) as c:
            reply = c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=3
            )
            assert reply.choices[0].message.content


def test_health_and_metrics_stay_open(url):
    assert httpx.get(url + "/health").status_code == 200
    assert httpx.get(url + "/metrics/rate-limits").status_code == 200
    # Prometheus text at TensorRT-LLM's path too: AIPerf's metrics collector sends no key
    for path in ("/metrics/prometheus", "/prometheus/metrics"):
        r = httpx.get(url + path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), path


def test_open_paths_are_configurable(start_server):
    with start_server("--api-key", KEY, "--auth-open-path", "/health") as u:
        assert httpx.get(u + "/metrics/rate-limits").status_code == 401
        assert (
            httpx.get(u + "/metrics/rate-limits", headers={"authorization": f"Bearer {KEY}"}).status_code
            == 200
        )


def test_anthropic_sdk_uses_x_api_key(url):
    import anthropic

    with anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0) as ok:
        assert ok.messages.create(
            model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        ).content
    with (
        anthropic.Anthropic(base_url=url, api_key="nope-nope-nope", max_retries=0) as bad,
        pytest.raises(anthropic.AuthenticationError) as exc,
    ):
        bad.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert exc.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }


def test_the_dashboard_and_its_data_open_without_a_key(url):
    """A browser cannot send a bearer key: the page, its files and the metrics stream it renders are
    open by default, while the API stays closed."""
    import asyncio

    import websockets

    for path in ("/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css", "/metrics"):
        assert httpx.get(url + path).status_code == 200, path
    assert httpx.get(url + "/v1/models").status_code == 401

    async def first_message() -> dict:
        async with websockets.connect(url.replace("http", "ws", 1) + "/metrics/stream") as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    assert asyncio.run(first_message())["object"] == "fakeai.metrics"


def test_listing_the_open_paths_closes_the_dashboard(start_server):
    flags = ("--ttft", "0", "--itl", "0", "--api-key", KEY, "--auth-open-path", "/health")
    with start_server(*flags) as u:
        assert httpx.get(u + "/dashboard").status_code == 401
        assert httpx.get(u + "/dashboard", headers={"authorization": f"Bearer {KEY}"}).status_code == 200
