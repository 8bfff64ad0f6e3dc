"""The Rust hot path (:mod:`fakeai.api.hot`) serving Anthropic's ``POST /v1/messages``: a request
without tools, with its ``anthropic-version`` header, is answered from Rust, and neither the anthropic
SDK nor httpx can tell it from the Python chain's answer.

As in :mod:`.test_hot_path`, each comparison runs the same requests against a server with the hot path
and one with ``--no-hot-path``. The Messages API has no ``seed``, so the generated text differs from
one request to the next on either path: it is masked, everything else (token counts, stop reasons,
event sequences, headers, error envelopes, metrics) must match.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from .test_hot_path import FLAGS, POD, chunked, comparable, pair, requests_by_status, served

pytestmark = pytest.mark.integration

MESSAGES = "/v1/messages"
VERSION = {"anthropic-version": "2023-06-01"}
MODEL = "claude-3-5-sonnet-latest"
#: A tool: the Python route chooses the call and counts the schemas.
TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def message_body(**extra: object) -> dict:
    # max_tokens under the shortest natural length (32): every answer stops at max_tokens
    return {
        "model": MODEL,
        "max_tokens": 6,
        "messages": [{"role": "user", "content": "hello there"}],
        **extra,
    }


def without_text(value: object) -> object:
    """``value`` with the generated text masked (ids are masked by :func:`comparable`)."""
    if isinstance(value, dict):
        return {k: "<text>" if k == "text" else without_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_text(v) for v in value]
    return value


def same(response: httpx.Response) -> tuple[int, list[tuple[str, str]], object]:
    status, headers, body = comparable(response)
    return status, headers, without_text(body)


def test_plain_messages_take_the_rust_path_and_others_do_not(start_server):
    with start_server(*FLAGS) as url, httpx.Client(base_url=url, timeout=10) as c:
        with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client:
            before = served(c)
            message = client.messages.create(
                model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "hi"}], system="be brief"
            )
            assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 5
            with client.messages.stream(
                model=MODEL, max_tokens=4, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                streamed = stream.get_final_message()
            assert streamed.usage.output_tokens == 4 and streamed.content[0].type == "text"
            assert served(c) == before + 2
            # tools: the Python route chooses the call
            used = client.messages.create(
                model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "weather?"}], tools=[TOOL]
            )
            assert used.stop_reason == "tool_use" and used.content[0].type == "tool_use"
            assert served(c) == before + 2
        # no anthropic-version header: the Python route's 400
        missing = c.post(MESSAGES, json=message_body())
        assert missing.status_code == 400 and missing.json()["type"] == "error"
        assert served(c) == before + 2


@pytest.mark.parametrize(
    "body",
    [
        message_body(),
        message_body(system="You are terse."),
        message_body(system=[{"type": "text", "text": "You are"}, {"type": "text", "text": " terse."}]),
        message_body(stop_sequences=["never-said-zzq"], temperature=0.5, metadata={"user_id": "u"}),
        message_body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
                },
                {"role": "assistant", "content": "three"},
                {"role": "user", "content": "four"},
            ]
        ),
        message_body(stream=True),
        message_body(stream=True, system="s", max_tokens=3),
    ],
)
def test_answers_are_the_python_chains(start_server, body):
    with pair(start_server, env=POD) as (hot, cold):
        before = served(hot)
        fast = hot.post(MESSAGES, json=body, headers=VERSION)
        slow = cold.post(MESSAGES, json=body, headers=VERSION)
        assert served(hot) == before + 1
        assert fast.status_code == 200
        assert same(fast) == same(slow)
        assert ("x-inference-pod", "pod-7") in fast.headers.multi_items()
        rid = {"x-request-id": "a-client-id", **VERSION}
        assert hot.post(MESSAGES, json=body, headers=rid).headers["x-request-id"] == "a-client-id"


def test_the_anthropic_sdk_sees_the_same_answers(start_server):
    with pair(start_server) as (hot, cold):
        seen = []
        for c in (hot, cold):
            with anthropic.Anthropic(base_url=str(c.base_url), api_key="k", max_retries=0) as client:
                message = client.messages.create(
                    model=MODEL, max_tokens=7, messages=[{"role": "user", "content": "hi"}], system="x y z"
                )
                events = client.messages.create(
                    model=MODEL, max_tokens=3, messages=[{"role": "user", "content": "hi"}], stream=True
                )
                with events:
                    kinds = [e.type for e in events]
            seen.append((without_text(message.model_dump(exclude={"id"})), kinds))
        assert seen[0] == seen[1]
        assert seen[0][1][0] == "message_start" and seen[0][1][-1] == "message_stop"
        assert served(hot) == 2


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}]}',  # no max_tokens
        json.dumps(message_body(max_tokens=0)).encode(),
        json.dumps(message_body(messages=[])).encode(),
        json.dumps(message_body(messages=[{"role": "system", "content": "x"}])).encode(),
        json.dumps(message_body(temperature=3)).encode(),
        b"[" * 100 + b"]" * 100,
        json.dumps(message_body(pad="x" * 5000)).encode(),  # over --max-body-bytes
        json.dumps(message_body(tools=[{"name": "t", "input_schema": {"type": "nothing-known"}}])).encode(),
    ],
)
def test_bad_bodies_get_the_same_envelopes(start_server, content):
    with pair(start_server) as (hot, cold):
        before = served(hot)
        headers = {"content-type": "application/json", **VERSION}
        fast = hot.post(MESSAGES, content=content, headers=headers)
        slow = cold.post(MESSAGES, content=content, headers=headers)
        assert fast.status_code >= 400
        assert comparable(fast) == comparable(slow)
        assert fast.json()["type"] == "error" and set(fast.json()["error"]) == {"type", "message"}
        # the same body sent chunked (no content-length): the gateway's rules, the same answer
        fast = hot.post(MESSAGES, content=chunked(content), headers=VERSION)
        slow = cold.post(MESSAGES, content=chunked(content), headers=VERSION)
        assert comparable(fast) == comparable(slow)
        assert served(hot) == before


def test_metrics_count_as_the_python_chain_does(start_server):
    requests = [
        (message_body(), VERSION),
        (message_body(model="my-own-claude"), VERSION),
        (message_body(stream=True), VERSION),
        (message_body(tools=[TOOL]), VERSION),
        (message_body(), {}),
        (message_body(max_tokens=-1), VERSION),
    ]
    with pair(start_server) as (hot, cold):
        views = []
        for c in (hot, cold):
            for body, headers in requests:
                c.post(MESSAGES, json=body, headers=headers)
            m = c.get("/metrics").json()
            endpoints = {k: (v["by_status"], v["errors_by_type"]) for k, v in m["endpoints"].items()}
            endpoints.pop("/metrics", None)
            models = {k: (v["requests"], v["errors"]) for k, v in m["models"].items()}
            views.append((m["requests"]["total"], m["requests"]["in_flight"], endpoints, models, m["tokens"]))
            assert "my-own-claude" in {x["id"] for x in c.get("/v1/models").json()["data"]}
        assert views[0] == views[1]
        assert views[0][2][MESSAGES][0] == {"200": 4, "400": 2}
        assert served(hot) == 3


def test_timed_and_streamed_messages_are_paced_from_the_rust_path(start_server):
    with start_server("--ttft", "30", "--itl", "5") as url, httpx.Client(base_url=url, timeout=10) as c:
        before = served(c)
        reply = c.post(MESSAGES, json=message_body(), headers=VERSION)
        assert reply.status_code == 200 and reply.json()["usage"]["output_tokens"] == 6
        with c.stream("POST", MESSAGES, json=message_body(stream=True), headers=VERSION) as stream:
            events = [line for line in stream.iter_lines() if line.startswith("event: ")]
        assert events[0] == "event: message_start" and events[-1] == "event: message_stop"
        assert events.count("event: content_block_delta") == 6
        assert served(c) == before + 2
        assert requests_by_status(c, MESSAGES) == {"200": 2}


@pytest.mark.parametrize("flags", [(), ("--no-hot-path",)], ids=["rust", "python"])
def test_text_blocks_count_as_the_separate_texts_they_are(start_server, flags):
    """A system prompt (or a message's content) of text blocks counts each block's tokens, as the same
    words in one string do (that string's trailing space is one more token): glued into one word,
    210,000 "hello" blocks in ``system`` counted some 87,000 tokens and slipped past the 200,000-token
    context window of a ``claude-`` model. ``count_tokens`` and ``usage.input_tokens`` agree, on either path."""
    hello = {"type": "text", "text": "hello"}
    user = [{"role": "user", "content": "hi"}]
    with start_server("--ttft", "0", "--itl", "0", *flags) as url, httpx.Client(base_url=url) as c:
        with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=60) as client:
            as_text = client.messages.count_tokens(model=MODEL, messages=user, system="hello " * 1000)
            as_blocks = client.messages.count_tokens(model=MODEL, messages=user, system=[hello] * 1000)
            assert as_blocks.input_tokens == as_text.input_tokens - 1
            before = served(c)
            made = client.messages.create(model=MODEL, max_tokens=4, messages=user, system=[hello] * 1000)
            assert made.usage.input_tokens == as_blocks.input_tokens
            assert served(c) == (before if flags else before + 1)

            content = [{"role": "user", "content": [hello] * 1000}]
            in_blocks = client.messages.count_tokens(model=MODEL, messages=content).input_tokens
            in_text = [{"role": "user", "content": "hello " * 1000}]
            assert in_blocks == client.messages.count_tokens(model=MODEL, messages=in_text).input_tokens - 1
            assert client.messages.create(model=MODEL, max_tokens=4, messages=content).usage.input_tokens == (
                in_blocks
            )

            n = 210_000
            counted = client.messages.count_tokens(model=MODEL, messages=user, system=[hello] * n)
            assert counted.input_tokens == n + as_blocks.input_tokens - 1000
            with pytest.raises(anthropic.BadRequestError) as e:
                client.messages.create(model=MODEL, max_tokens=4, messages=user, system=[hello] * n)
            assert f"prompt is too long: {counted.input_tokens} tokens > 200000" in e.value.message
