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
    anthropic_error(http.get("/v1/skills", headers=V), 404, "not_found_error")
    openai_error = http.get("/v1/skills")
    assert openai_error.status_code == 404 and openai_error.json()["error"]["code"] == "unknown_url"


def test_the_sdk_maps_them(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.get("/v1/skills", cast_to=object)
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
