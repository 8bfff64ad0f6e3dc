"""POST /v1/messages through the official anthropic SDK, and its bad inputs."""

from __future__ import annotations

import anthropic
import httpx
import jsonschema
import pytest

pytestmark = pytest.mark.integration

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather at a place",
        "input_schema": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["c", "f"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["location"],
        },
    }
]
USER = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture()
def claude(base_url):
    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0) as c:
        yield c


def test_create_returns_text_and_usage(claude):
    m = claude.messages.create(
        model="claude-test", max_tokens=12, system=[{"type": "text", "text": "Be terse."}], messages=USER
    )
    assert m.type == "message" and m.role == "assistant" and m.id.startswith("msg_")
    assert m.content[0].type == "text" and m.content[0].text
    assert m.usage.output_tokens <= 12 and m.usage.input_tokens > 10
    assert m.stop_reason in ("end_turn", "max_tokens")


def test_stop_sequences(claude):
    m = claude.messages.create(model="claude-test", max_tokens=400, messages=USER, stop_sequences=[" "])
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == " " and " " not in m.content[0].text


def test_stream_text_and_final_message(claude):
    with claude.messages.stream(model="claude-test", max_tokens=15, messages=USER) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert (
        text == final.content[0].text
        and final.usage.output_tokens == 15
        and final.stop_reason == "max_tokens"
    )


def test_raw_event_sequence(base_url):
    r = httpx.post(
        base_url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={"model": "c", "max_tokens": 3, "stream": True, "messages": USER, "ignore_eos": True},
    )
    names = [line[7:] for line in r.text.splitlines() if line.startswith("event: ")]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_tool_use_then_text_after_the_result(claude):
    m = claude.messages.create(model="claude-test", max_tokens=200, tools=TOOLS, messages=USER)
    assert m.stop_reason == "tool_use"
    call = m.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather" and call.id.startswith("toolu_")
    jsonschema.validate(call.input, TOOLS[0]["input_schema"])
    follow = [
        *USER,
        {"role": "assistant", "content": [call.model_dump(include={"type", "id", "name", "input"})]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny"}]},
    ]
    m2 = claude.messages.create(model="claude-test", max_tokens=20, tools=TOOLS, messages=follow)
    assert m2.content[0].type == "text" and m2.stop_reason != "tool_use"
    with claude.messages.stream(
        model="claude-test", max_tokens=200, tools=TOOLS, messages=USER, tool_choice={"type": "any"}
    ) as s:
        final = s.get_final_message()
    assert final.content[-1].type == "tool_use" and final.content[-1].input["location"]
    # max_tokens too small for the call: cut off before it, as Anthropic answers (the whole call came)
    cut = claude.messages.create(
        model="claude-test", max_tokens=2, tools=TOOLS, messages=USER, tool_choice={"type": "any"}
    )
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens <= 2
    assert not [b for b in cut.content if b.type == "tool_use"]
    with claude.messages.stream(
        model="claude-test", max_tokens=2, tools=TOOLS, messages=USER, tool_choice={"type": "any"}
    ) as s:
        assert s.get_final_message().stop_reason == "max_tokens"


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"model": "c", "messages": USER}, "max_tokens"),
        ({"model": "c", "max_tokens": 0, "messages": USER}, "max_tokens"),
        ({"model": "c", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "role"),
        (
            {
                "model": "c",
                "max_tokens": 5,
                "messages": USER,
                "tools": TOOLS,
                "tool_choice": {"type": "tool", "name": "nope"},
            },
            "tool_choice",
        ),
    ],
)
def test_bad_input_gets_anthropics_error_envelope(base_url, body, needle):
    r = httpx.post(base_url + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 400
    err = r.json()
    assert (
        err["type"] == "error"
        and err["error"]["type"] == "invalid_request_error"
        and needle in err["error"]["message"]
    )


def test_anthropic_version_is_required(base_url):
    r = httpx.post(base_url + "/v1/messages", json={"model": "c", "max_tokens": 5, "messages": USER})
    assert r.status_code == 400 and "anthropic-version" in r.json()["error"]["message"]
    r = httpx.post(base_url + "/v1/messages", content=b"{nope", headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 400 and r.json()["type"] == "error"


def test_unsatisfiable_tool_schema_is_a_400_naming_the_tool(base_url):
    bad = {
        "name": "broken",
        "input_schema": {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
            "required": ["n"],
        },
    }
    r = httpx.post(
        base_url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={
            "model": "c",
            "max_tokens": 20,
            "messages": USER,
            "tools": [bad],
            "tool_choice": {"type": "any"},
        },
    )
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error" and "broken" in body["error"]["message"]


def test_count_tokens_is_what_a_message_is_charged(claude):
    """The SDK's messages.count_tokens (a 404 in OpenAI's envelope before) gives the input_tokens the
    same request's message reports, with a system prompt and tools counted."""
    system = [{"type": "text", "text": "Be terse, and answer in French."}]
    for extra in ({}, {"system": system}, {"system": "Be terse.", "tools": TOOLS}):
        counted = claude.messages.count_tokens(model="claude-test", messages=USER, **extra)
        made = claude.messages.create(model="claude-test", max_tokens=4, messages=USER, **extra)
        assert counted.input_tokens == made.usage.input_tokens > 0, extra
    longer = USER + [{"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And Rome?"}]
    short = claude.messages.count_tokens(model="c", messages=USER).input_tokens
    assert claude.messages.count_tokens(model="c", messages=longer).input_tokens > short


@pytest.mark.parametrize(
    "body, status, needle",
    [
        ({"model": "c"}, 400, "messages"),
        ({"model": "c", "messages": []}, 400, "messages"),
        ({"model": "c", "messages": [{"role": "system", "content": "x"}]}, 400, "role"),
        ({"model": "c", "messages": USER, "system": 5}, 400, "system"),
        ({"model": "", "messages": USER}, 400, "model"),
        # what /v1/messages refuses, counting refuses too
        (
            {"model": "c", "messages": USER, "tools": TOOLS, "tool_choice": {"type": "tool", "name": "nope"}},
            400,
            "tool_choice",
        ),
        (
            {
                "model": "c",
                "messages": USER,
                "tools": [{"name": "loop", "input_schema": {"$ref": "#"}}],
                "tool_choice": {"type": "any"},
            },
            400,
            "loop",
        ),
    ],
)
def test_count_tokens_bad_input_gets_anthropics_envelope(base_url, body, status, needle):
    url = base_url + "/v1/messages/count_tokens"
    r = httpx.post(url, json=body, headers={"anthropic-version": "2023-06-01"})
    err = r.json()
    assert r.status_code == status and err["type"] == "error" and needle in err["error"]["message"], r.text
    r = httpx.post(url, json={"model": "c", "messages": USER})
    assert r.status_code == 400 and "anthropic-version" in r.json()["error"]["message"]


def test_a_prompt_past_the_context_window_is_refused_at_once(base_url):
    """As chat does (and Anthropic words it): the engine simulated the prefill of 2M tokens first, and
    the answer came after 82 s."""
    headers = {"anthropic-version": "2023-06-01"}
    body = {
        "model": "claude-3-5-sonnet",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "word " * 200_000}],
    }
    r = httpx.post(base_url + "/v1/messages", json=body, headers=headers, timeout=30)
    assert r.status_code == 400 and r.elapsed.total_seconds() < 5, r.text
    assert r.json()["error"]["message"].startswith("messages: prompt is too long: ")
    fits = {**body, "messages": [{"role": "user", "content": "word " * 1000}], "max_tokens": 200_000}
    r = httpx.post(base_url + "/v1/messages", json=fits, headers=headers, timeout=30)
    assert r.status_code == 400 and "exceed context limit" in r.json()["error"]["message"], r.text
