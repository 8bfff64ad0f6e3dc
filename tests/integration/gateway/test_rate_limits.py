"""Rate limits: OpenAI's headers, 429s the openai SDK retries, buckets shared by two workers."""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$")


def test_every_response_carries_the_ratelimit_headers(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--rpm", "100", "--tpm", "10000") as url:
        r = httpx.post(url + "/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer sk-a"})
        assert r.status_code == 200
        h = r.headers
        assert h["x-ratelimit-limit-requests"] == "100" and h["x-ratelimit-remaining-requests"] == "99"
        assert h["x-ratelimit-limit-tokens"] == "10000"
        assert 0 < 10000 - int(h["x-ratelimit-remaining-tokens"]) < 100  # body/4 + max_tokens
        assert DURATION.match(h["x-ratelimit-reset-requests"]) and DURATION.match(
            h["x-ratelimit-reset-tokens"]
        )
        assert h["x-ratelimit-reset-requests"] == "600ms"
        # another key has its own buckets
        r = httpx.post(url + "/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer sk-b"})
        assert r.headers["x-ratelimit-remaining-requests"] == "99"


REQUEST_TRIO = {"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"}
TOKEN_TRIO = {"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--rpm", "100"), REQUEST_TRIO),
        (("--tpd", "100000"), TOKEN_TRIO),
        (("--rate-limit-tier", "tier-1"), REQUEST_TRIO | TOKEN_TRIO),
        (("--rpd", "50", "--tpm", "100000"), REQUEST_TRIO | TOKEN_TRIO),
    ],
)
def test_each_trio_comes_when_its_side_is_limited(start_server, flags, expected):
    # As the README says: the requests trio with rpm/rpd, the tokens trio with tpm/tpd; a tier sets both.
    with (
        start_server("--ttft", "0", "--itl", "0", *flags) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="sk-h", max_retries=0) as client,
    ):
        ok = client.chat.completions.with_raw_response.create(**CHAT)
        with pytest.raises(openai.NotFoundError) as missing:
            client.models.retrieve("no-such-model-here")
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="gpt-4o", messages=[])
        for headers in (ok.headers, missing.value.response.headers, bad.value.response.headers):
            assert {k for k in headers if k.startswith("x-ratelimit-")} == expected
            assert all(DURATION.match(headers[k]) for k in expected if k.startswith("x-ratelimit-reset"))


def test_tokens_limit_gives_429_of_type_tokens(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--tpm", "1000") as url:
        big = {**CHAT, "max_tokens": 600}
        assert httpx.post(url + "/v1/chat/completions", json=big).status_code == 200
        r = httpx.post(url + "/v1/chat/completions", json=big)
        assert r.status_code == 429
        assert r.json()["error"]["type"] == "tokens" and r.json()["error"]["code"] == "rate_limit_exceeded"
        assert int(r.headers["retry-after"]) >= 1 and r.headers["x-ratelimit-remaining-tokens"]
        usage = httpx.get(url + "/metrics/rate-limits").json()
        row = usage["data"][0]
        assert row["key"] == "anonymous" and row["requests"] == 1 and row["throttled_tokens"] == 1
        assert row["limits"]["tpm"] == 1000


def test_openai_sdk_retries_a_429_with_retry_after_and_succeeds(start_server):
    # 120 RPM: a bucket of 120, one request back every 0.5 s
    with start_server("--ttft", "0", "--itl", "0", "--rpm", "120") as url:
        seen = []
        hooks = {"response": [lambda r: seen.append(r.status_code)]}
        with openai.OpenAI(
            base_url=url + "/v1",
            api_key="sk-retry",
            max_retries=2,
            http_client=httpx.Client(event_hooks=hooks),
        ) as c:
            no_retry = c.with_options(max_retries=0)
            with pytest.raises(openai.RateLimitError) as exc:
                for _ in range(400):  # drain the bucket (it refills while we go)
                    no_retry.chat.completions.create(**CHAT)
            assert exc.value.body["code"] == "rate_limit_exceeded" and exc.value.body["type"] == "requests"
            assert exc.value.response.headers["retry-after"] == "1"
            seen.clear()
            reply = c.chat.completions.create(**CHAT)
        assert reply.choices[0].message.content
        assert seen[0] == 429 and seen[-1] == 200


def test_limits_hold_across_two_workers(start_server):
    limit = 30
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0", "--rpm", str(limit)) as url:

        def one(_: int) -> int:
            with httpx.Client() as c:  # a new connection per request spreads them over both workers
                return c.post(url + "/v1/chat/completions", json=CHAT).status_code

        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, range(2 * limit)))
        refilled = math.ceil((time.monotonic() - start) * limit / 60)  # the bucket refills 0.5 request/s
        ok = codes.count(200)
        assert codes.count(429) + ok == 2 * limit
        assert limit <= ok <= limit + refilled, (codes, refilled)  # the limit, plus what refilled; never 2x
        usage = httpx.get(url + "/metrics/rate-limits").json()["data"]
        assert usage[0]["requests"] == ok and usage[0]["throttled_requests"] == 2 * limit - ok


def test_tiers_and_per_key_limits_from_a_scenario(start_server, tmp_path):
    cfg = tmp_path / "fakeai.toml"
    cfg.write_text(
        'rate_limit_tier = "tier-1"\nttft_ms = 0\nitl_ms = 0\n'
        '[keys."sk-free-user"]\ntier = "free"\n[keys."sk-custom"]\nrpm = 7\n'
    )
    with start_server("--config", str(cfg)) as url:

        def limit(key: str) -> str:
            r = httpx.post(
                url + "/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {key}"}
            )
            return r.headers["x-ratelimit-limit-requests"] + "/" + r.headers["x-ratelimit-limit-tokens"]

        assert limit("sk-free-user") == "3/40000"
        assert limit("sk-custom") == "7/30000"
        r = httpx.post(url + "/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer sk-other"})
        assert r.status_code == 401  # keys from the scenario turn auth on


def test_day_limits_name_themselves(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--rpd", "2") as url:
        for _ in range(2):
            assert httpx.post(url + "/v1/chat/completions", json=CHAT).status_code == 200
        r = httpx.post(url + "/v1/chat/completions", json=CHAT)
        assert r.status_code == 429 and r.json()["error"]["type"] == "requests"
        assert "requests per day (RPD): Limit 2" in r.json()["error"]["message"]
        assert re.search(r"Please try again in (11h59m\d+s|12h0m0s)\.", r.json()["error"]["message"])
        assert int(r.headers["retry-after"]) > 43_000
        assert r.headers["x-ratelimit-limit-requests"] == "2"
        assert r.headers["x-ratelimit-reset-requests"].startswith("23h59m")


def test_rag_prompts_count_against_the_rate_limits(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--rpm", "2") as url:
        headers = {"authorization": "Bearer sk-rag"}
        codes = [
            httpx.post(url + "/rag/api/prompt", json={"query": "q"}, headers=headers).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        assert httpx.get(url + "/health").status_code == 200  # not an inference route
