"""What Anthropic's clients see besides bodies: the ``request-id`` header (the SDK's ``_request_id`` and
its errors' ``request_id``), Anthropic's envelope on unknown paths and methods and on a body that is
not JSON, and an overloaded engine's 529 (the SDK's ``OverloadedError``)."""

from __future__ import annotations

import asyncio

import anthropic
import httpx
import pytest

pytestmark = pytest.mark.integration

V = {"anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "hi"}]
TOOL = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}


@pytest.fixture()
def claude(base_url):
    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as c:
        yield c


def anthropic_error(r: httpx.Response, status: int, kind: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert (
        body["type"] == "error"
        and body["error"]["type"] == kind
        and set(body["error"]) == {"type", "message"}
    )
    assert r.headers["request-id"] == r.headers["x-request-id"]
    return body["error"]["message"]


def test_every_messages_answer_has_a_request_id(claude: anthropic.Anthropic) -> None:
    plain = claude.messages.with_raw_response.create(model="claude-x", max_tokens=3, messages=USER)
    assert plain.headers["request-id"] == plain.headers["x-request-id"]
    assert plain.parse()._request_id == plain.headers["request-id"]
    tools = claude.messages.with_raw_response.create(
        model="claude-x", max_tokens=3, messages=USER, tools=[TOOL]
    )
    assert tools.headers["request-id"] == tools.headers["x-request-id"]  # the Python path
    with claude.messages.with_streaming_response.create(
        model="claude-x", max_tokens=3, messages=USER, stream=True
    ) as streamed:
        assert streamed.headers["request-id"]
    counted = claude.messages.with_raw_response.count_tokens(model="claude-x", messages=USER)
    assert counted.headers["request-id"]
    # the client's own x-request-id names the request in both headers
    mine = claude.messages.with_raw_response.create(
        model="claude-x", max_tokens=3, messages=USER, extra_headers={"x-request-id": "req_mine"}
    )
    assert mine.headers["request-id"] == "req_mine" == mine.headers["x-request-id"]


def test_sdk_errors_carry_the_request_id(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        claude.messages.create(model="claude-x", max_tokens=0, messages=USER)
    assert bad.value.request_id and bad.value.body["type"] == "error"


def test_openai_answers_have_no_anthropic_request_id(http: httpx.Client) -> None:
    r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": USER, "max_tokens": 2})
    assert r.status_code == 200 and r.headers["x-request-id"] and "request-id" not in r.headers


def test_a_body_that_is_not_json_in_each_apis_words(http: httpx.Client) -> None:
    message = anthropic_error(
        http.post("/v1/messages", content=b"{nope", headers=V), 400, "invalid_request_error"
    )
    assert message.startswith("The request body is not valid JSON: ") and "OpenAI" not in message
    message = anthropic_error(
        http.post("/v1/messages/count_tokens", content=b'{"model": ', headers=V), 400, "invalid_request_error"
    )
    assert message.startswith("The request body is not valid JSON: ")
    openai_error = http.post("/v1/chat/completions", content=b"{nope").json()["error"]
    assert (
        openai_error["code"] == "invalid_json"
        and "The OpenAI API expects a JSON payload" in openai_error["message"]
    )


def test_unknown_paths_and_methods_in_anthropics_envelope(http: httpx.Client) -> None:
    assert "GET /v1/messages" in anthropic_error(
        http.get("/v1/messages", headers=V), 405, "invalid_request_error"
    )
    anthropic_error(http.get("/v1/messages/nothing/here"), 404, "not_found_error")
    anthropic_error(http.delete("/v1/messages/count_tokens"), 405, "invalid_request_error")
    # any path, from an Anthropic client (the anthropic-version header)
    anthropic_error(http.get("/v1/no/such/route", headers=V), 404, "not_found_error")
    openai_error = http.get("/v1/no/such/route")
    assert openai_error.status_code == 404 and openai_error.json()["error"]["code"] == "unknown_url"


def test_the_sdk_maps_them(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.get("/v1/no/such/route", cast_to=object)
    assert missing.value.body["error"]["type"] == "not_found_error" and missing.value.request_id


def test_an_overloaded_engine_is_529(start_server) -> None:
    flags = ("--ttft", "0", "--itl", "100", "--jitter", "0", "--max-num-seqs", "1")
    with start_server(*flags, "--max-waiting-queue-length", "1") as url:

        async def busy() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:

                async def stream() -> None:
                    body = {"model": "m", "messages": USER, "stream": True}
                    headers = {"x-fakeai-output-tokens": "20"}
                    async with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
                        async for _ in r.aiter_bytes():
                            pass

                streams = [asyncio.create_task(stream()) for _ in range(2)]  # one runs, one waits
                await asyncio.sleep(0.4)
                await asyncio.to_thread(refused, url)
                await asyncio.gather(*streams)

        asyncio.run(busy())


def refused(url: str) -> None:
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude:
        with pytest.raises(anthropic.OverloadedError) as overloaded:
            claude.messages.create(model="m", max_tokens=3, messages=USER)
        assert overloaded.value.status_code == 529 and overloaded.value.request_id
        assert overloaded.value.body["error"]["type"] == "overloaded_error"
        with pytest.raises(anthropic.OverloadedError):  # the Python path (tools) too
            claude.messages.create(model="m", max_tokens=3, messages=USER, tools=[TOOL])  # type: ignore[list-item]
    r = httpx.post(url + "/v1/chat/completions", json={"model": "m", "messages": USER})
    assert r.status_code == 503 and r.json()["error"]["code"] == "overloaded"  # OpenAI's: unchanged


INJECTED = {
    # x-fakeai-error: (status, SDK exception, Anthropic type, words of Anthropic's message)
    "400": (
        400,
        anthropic.BadRequestError,
        "invalid_request_error",
        "prompt is too long: 131072 tokens > 128000",
    ),
    "context_length_exceeded": (
        400,
        anthropic.BadRequestError,
        "invalid_request_error",
        "prompt is too long",
    ),
    "429": (429, anthropic.RateLimitError, "rate_limit_error", "would exceed your organization's rate limit"),
    "rate_limit_exceeded": (429, anthropic.RateLimitError, "rate_limit_error", "rate limit"),
    "503": (529, anthropic.OverloadedError, "overloaded_error", "Overloaded"),
    "401": (401, anthropic.AuthenticationError, "authentication_error", "invalid x-api-key"),
    "500": (500, anthropic.InternalServerError, "api_error", "Internal server error"),
}


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_injected_faults_in_anthropics_words(http: httpx.Client, path: str) -> None:
    body = {"model": "claude-x", "max_tokens": 3, "messages": USER}
    for kind, (status, _, error_type, words) in INJECTED.items():
        r = http.post(path, json=body, headers={**V, "x-fakeai-error": kind})
        message = anthropic_error(r, status, error_type)
        assert words in message and "openai" not in message.lower(), (kind, message)
        assert ("retry-after" in r.headers) == (status == 429), kind  # every Anthropic 429 asks for a wait
    # an Anthropic client on another route (its anthropic-version header) gets them too
    r = http.get("/v1/models", headers={**V, "x-fakeai-error": "503"})
    assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"


def test_the_sdk_classifies_and_retries_injected_faults(base_url: str) -> None:
    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as claude:
        for kind, (status, error, error_type, _) in INJECTED.items():
            with pytest.raises(error) as raised:
                claude.messages.create(
                    model="claude-x", max_tokens=3, messages=USER, extra_headers={"x-fakeai-error": kind}
                )
            assert raised.value.status_code == status and raised.value.body["error"]["type"] == error_type
    # the SDK retries a 529 and a 429 (after retry-after), not a 400
    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=2) as claude:
        for kind in ("503", "rate_limit_exceeded"):
            headers = {"x-fakeai-error": kind, "x-fakeai-fail-attempts": "1", "x-request-id": f"anth-{kind}"}
            raw = claude.messages.with_raw_response.create(
                model="claude-x", max_tokens=3, messages=USER, extra_headers=headers
            )
            assert raw.retries_taken == 1 and raw.parse().content
        headers = {"x-fakeai-error": "400", "x-fakeai-fail-attempts": "1", "x-request-id": "anth-400"}
        with pytest.raises(anthropic.BadRequestError):
            claude.messages.create(model="claude-x", max_tokens=3, messages=USER, extra_headers=headers)


def test_openais_two_429s(base_url: str) -> None:
    """``rate_limit_exceeded`` (type ``requests``) with ``retry-after``, which the SDK waits for and
    retries; ``insufficient_quota`` (a billing error) without one, as OpenAI sends it."""
    import openai

    chat = {"model": "gpt-4o", "messages": USER, "max_tokens": 2}
    with openai.OpenAI(base_url=base_url + "/v1", api_key="k", max_retries=0) as client:
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(**chat, extra_headers={"x-fakeai-error": "rate_limit_exceeded"})
        assert limited.value.code == "rate_limit_exceeded" and limited.value.type == "requests"
        assert limited.value.response.headers["retry-after"] == "1"
        assert limited.value.response.headers["retry-after-ms"] == "1000"
        with pytest.raises(openai.RateLimitError) as quota:
            client.chat.completions.create(**chat, extra_headers={"x-fakeai-error": "429"})
        assert quota.value.code == quota.value.type == "insufficient_quota"
        assert "retry-after" not in quota.value.response.headers
        assert "retry-after-ms" not in quota.value.response.headers
    with openai.OpenAI(base_url=base_url + "/v1", api_key="k", max_retries=3) as client:
        headers = {
            "x-fakeai-error": "rate_limit_exceeded",
            "x-fakeai-fail-attempts": "2",
            "x-request-id": "openai-rate-limited",
        }
        raw = client.chat.completions.with_raw_response.create(**chat, extra_headers=headers)
        assert raw.retries_taken == 2 and raw.parse().choices[0].message.content
