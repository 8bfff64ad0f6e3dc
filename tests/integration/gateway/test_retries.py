"""Deterministic retries (``x-fakeai-fail-attempts``, ``first`` rules), llm-d's ``X-Return-Error``, and
the ``x-request-id`` every response echoes."""

from __future__ import annotations

import re
import uuid

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 3}


@pytest.fixture(scope="module")
def two_workers(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--workers", "2") as url:
        yield url


def _statuses(url: str) -> dict[str, int]:
    endpoints = httpx.get(url + "/metrics").json()["endpoints"]
    return endpoints.get("/v1/chat/completions", {}).get("by_status", {})


def test_the_sdk_succeeds_on_the_third_attempt_of_two_failing_ones(two_workers):
    before = _statuses(two_workers)
    request_id = uuid.uuid4().hex
    with openai.OpenAI(base_url=two_workers + "/v1", api_key="k", max_retries=3) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o",
            messages=MESSAGES,
            max_tokens=3,
            extra_headers={"x-request-id": request_id, "x-fakeai-fail-attempts": "2"},
        )
    assert raw.headers["x-request-id"] == request_id
    assert raw.retries_taken == 2 and raw.parse().choices[0].message.content
    after = _statuses(two_workers)
    # counted server-side: exactly two 503s and one 200 for this request
    assert after.get("503", 0) - before.get("503", 0) == 2
    assert after.get("200", 0) - before.get("200", 0) == 1


def test_attempts_count_per_request_id_and_name_their_error_kind(two_workers):
    def attempt(request_id: str, kind: str) -> httpx.Response:
        headers = {"x-request-id": request_id, "x-fakeai-fail-attempts": "1", "x-fakeai-error": kind}
        with httpx.Client(timeout=10) as c:  # a new connection each time: either worker answers
            return c.post(two_workers + "/v1/chat/completions", json=CHAT, headers=headers)

    first = attempt("rid-429", "429")
    assert first.status_code == 429 and "retry-after" not in first.headers  # billing: not to retry
    assert first.json()["error"]["code"] == "insufficient_quota"
    limited = attempt("rid-rate", "rate_limit_exceeded")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert attempt("rid-rate", "rate_limit_exceeded").status_code == 200
    assert attempt("rid-502", "502").status_code == 502  # another id starts at attempt 1
    assert attempt("rid-429", "429").status_code == 200
    assert attempt("rid-502", "502").status_code == 200
    assert attempt("rid-502", "502").status_code == 200


def test_x_return_error_is_honoured(http):
    r = http.post("/v1/chat/completions", json=CHAT, headers={"X-Return-Error": "504"})
    assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
    bad = http.post("/v1/chat/completions", json=CHAT, headers={"X-Return-Error": "418"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "x-return-error"


@pytest.mark.parametrize(
    ("headers", "param"),
    [
        ({"x-fakeai-fail-attempts": "2"}, "x-request-id"),
        ({"x-fakeai-fail-attempts": "many", "x-request-id": "a"}, "x-fakeai-fail-attempts"),
        ({"x-fakeai-fail-attempts": "101", "x-request-id": "a"}, "x-fakeai-fail-attempts"),
    ],
)
def test_bad_retry_headers_are_400s(http, headers, param):
    r = http.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["param"] == param


def test_every_response_echoes_or_generates_a_request_id(http):
    assert http.get("/health", headers={"x-request-id": "mine-1"}).headers["x-request-id"] == "mine-1"
    given = http.post("/v1/chat/completions", json=CHAT, headers={"x-request-id": "mine-2"})
    assert given.headers["x-request-id"] == "mine-2"
    ids = {http.post("/v1/chat/completions", json=CHAT).headers["x-request-id"] for _ in range(3)}
    ids |= {http.get("/nowhere").headers["x-request-id"]}
    assert len(ids) == 4 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_a_scenario_rule_fails_the_first_attempts_of_its_route(start_server, tmp_path):
    config = tmp_path / "retries.toml"
    config.write_text(
        '[[errors]]\nroute = "/v1/chat/completions"\nkey = "sk-flaky"\nfirst = 2\nmix = "500"\n'
    )
    with start_server("--ttft", "0", "--itl", "0", "--workers", "2", "--config", str(config)) as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="sk-flaky", max_retries=3) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=MESSAGES, max_tokens=3, extra_headers={"x-request-id": "job-1"}
            )
            assert raw.retries_taken == 2
        with openai.OpenAI(base_url=url + "/v1", api_key="sk-steady", max_retries=0) as client:
            other = client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=MESSAGES, max_tokens=3, extra_headers={"x-request-id": "job-2"}
            )
            assert other.retries_taken == 0  # the rule is for another key
        assert _statuses(url) == {"500": 2, "200": 2}
