"""Custom tools in chat completions (``tools: [{"type": "custom", "custom": {...}}]``) through the
official SDK: ``tool_calls`` of ``type: "custom"`` whose ``input`` is in the tool's format, validated
against the SDK's types on the raw JSON, streamed, sent back, and bad declarations."""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageCustomToolCall

pytestmark = pytest.mark.integration

SQL = r"SELECT (id|name|email) FROM (users|orders) WHERE id = [1-9][0-9]{0,3};"
QUERY = {
    "type": "custom",
    "custom": {
        "name": "run_sql",
        "description": "Run a SQL query",
        "format": {"type": "grammar", "grammar": {"syntax": "regex", "definition": SQL}},
    },
}
NOTES = {"type": "custom", "custom": {"name": "write_notes", "description": "Free-form notes"}}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ASK = [{"role": "user", "content": "Find the user 12"}]


def chat(http: httpx.Client, **body: object) -> dict:
    r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": ASK, **body})
    assert r.status_code == 200, r.text
    raw = r.json()
    ChatCompletion.model_validate(raw)
    return raw


def test_a_custom_tool_call_in_the_sdk_shape(client: openai.OpenAI, http: httpx.Client) -> None:
    raw = chat(http, tools=[QUERY], seed=7)
    choice = raw["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    typed = ChatCompletionMessageCustomToolCall.model_validate(call)
    assert typed.type == "custom" and typed.id.startswith("call_") and typed.custom.name == "run_sql"
    assert re.fullmatch(SQL, typed.custom.input), typed.custom.input
    assert set(call) == {"id", "type", "custom"} and set(call["custom"]) == {"name", "input"}
    # the SDK reads it as its custom tool call type
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[QUERY])  # type: ignore[list-item]
    sdk_call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert isinstance(sdk_call, ChatCompletionMessageCustomToolCall) and re.fullmatch(
        SQL, sdk_call.custom.input
    )
    # the same seed, the same input
    assert (
        chat(http, tools=[QUERY], seed=7)["choices"][0]["message"]["tool_calls"][0]["custom"]["input"]
        == typed.custom.input
    )
    # usage: the call's name and input are the completion
    assert raw["usage"]["completion_tokens"] > 0


def test_text_and_lark_formats_and_tool_choice(http: httpx.Client) -> None:
    named = {"type": "custom", "custom": {"name": "write_notes"}}
    raw = chat(http, tools=[WEATHER, QUERY, NOTES], tool_choice=named)
    (call,) = raw["choices"][0]["message"]["tool_calls"]
    assert (
        call["type"] == "custom"
        and call["custom"]["name"] == "write_notes"
        and call["custom"]["input"].strip()
    )
    function = {"type": "function", "function": {"name": "get_weather"}}
    (call,) = chat(http, tools=[WEATHER, QUERY], tool_choice=function)["choices"][0]["message"]["tool_calls"]
    assert call["type"] == "function" and json.loads(call["function"]["arguments"]) is not None
    lark = {
        "type": "custom",
        "custom": {
            "name": "calc",
            "format": {"type": "grammar", "grammar": {"syntax": "lark", "definition": "start: NUMBER"}},
        },
    }
    text = {"type": "custom", "custom": {"name": "say", "format": {"type": "text"}}}
    for tool in (lark, text):
        (call,) = chat(http, tools=[tool], tool_choice="required")["choices"][0]["message"]["tool_calls"]
        assert call["custom"]["input"]
    assert chat(http, tools=[QUERY], tool_choice="none")["choices"][0]["message"]["content"]


def test_custom_tool_call_streamed(http: httpx.Client) -> None:
    body = {
        "model": "gpt-4o",
        "messages": ASK,
        "tools": [QUERY],
        "stream": True,
        "parallel_tool_calls": False,
    }
    r = http.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    deltas = [c["choices"][0]["delta"].get("tool_calls") for c in chunks if c["choices"]]
    deltas = [d[0] for d in deltas if d]
    head = deltas[0]
    assert head["type"] == "custom" and head["id"].startswith("call_")
    assert head["custom"] == {"name": "run_sql", "input": ""}
    assert all(set(d) == {"index", "custom"} and set(d["custom"]) == {"input"} for d in deltas[1:])
    assert re.fullmatch(SQL, "".join(d["custom"]["input"] for d in deltas[1:]))
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls" if chunks[-1]["choices"] else True


def test_a_custom_call_sent_back_is_answered(http: httpx.Client) -> None:
    call = chat(http, tools=[QUERY])["choices"][0]["message"]["tool_calls"][0]
    history = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "id=12 name=Ada"},
    ]
    answer = chat(http, messages=history, tools=[QUERY])
    assert answer["choices"][0]["finish_reason"] in ("stop", "length")
    assert answer["choices"][0]["message"]["content"]
    # the call's input counts in the prompt
    long_call = {**call, "custom": {"name": "run_sql", "input": "SELECT name FROM users WHERE id = 1; " * 20}}
    longer = chat(
        http, messages=[*history[:1], {**history[1], "tool_calls": [long_call]}, history[2]], tools=[QUERY]
    )
    assert longer["usage"]["prompt_tokens"] > answer["usage"]["prompt_tokens"] + 50


@pytest.mark.parametrize(
    ("tools", "choice", "param"),
    [
        ([{"type": "custom"}], None, "tools[0].custom"),
        ([{"type": "custom", "custom": {"name": "a b"}}], None, "tools[0].custom.name"),
        (
            [
                {
                    "type": "custom",
                    "custom": {
                        "name": "x",
                        "format": {
                            "type": "grammar",
                            "grammar": {"syntax": "regex", "definition": "a" * 40000},
                        },
                    },
                }
            ],
            None,
            "tools[0].custom.format.grammar.definition",
        ),
        (
            [
                {
                    "type": "custom",
                    "custom": {
                        "name": "x",
                        "format": {"type": "grammar", "grammar": {"syntax": "regex", "definition": "[z-a]"}},
                    },
                }
            ],
            None,
            "tools[0].custom.format.grammar.definition",
        ),
        (
            [
                {
                    "type": "custom",
                    "custom": {
                        "name": "x",
                        "format": {"type": "grammar", "grammar": {"syntax": "pcre", "definition": "a"}},
                    },
                }
            ],
            None,
            "tools[0].custom.format.grammar.syntax",
        ),
        (
            [{"type": "custom", "custom": {"name": "x", "format": {"type": "json"}}}],
            None,
            "tools[0].custom.format.type",
        ),
        ([QUERY], {"type": "custom", "custom": {"name": "nope"}}, "tool_choice"),
        ([QUERY], {"type": "function", "function": {"name": "run_sql"}}, "tool_choice"),
        ([QUERY], {"type": "custom"}, "tool_choice.custom.name"),
        ([{"type": "retrieval"}], None, "tools[0].type"),
    ],
)
def test_bad_custom_tools_are_400s_naming_the_param(
    http: httpx.Client, tools: list, choice: object, param: str
) -> None:
    body: dict = {"model": "gpt-4o", "messages": ASK, "tools": tools}
    if choice is not None:
        body["tool_choice"] = choice
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param, r.text


def test_regex_inputs_past_the_request_budget_are_a_400_naming_n(http: httpx.Client) -> None:
    """A regex grammar's forced minimum counts against the request's JSON budget, as a schema's
    does: 128 inputs of 900,000 characters are a 400 naming ``n``, never ``"null"`` inputs."""
    definition = "[a-z]{900000}"
    tool = {
        "type": "custom",
        "custom": {
            "name": "a",
            "format": {"type": "grammar", "grammar": {"syntax": "regex", "definition": definition}},
        },
    }
    body = {"model": "gpt-4o", "messages": ASK, "tools": [tool], "tool_choice": "required", "n": 128}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"]["param"] == "n"
    r = http.post("/v1/chat/completions", json={**body, "n": 2})
    assert r.status_code == 200, r.text[:300]
    inputs = [c["message"]["tool_calls"][0]["custom"]["input"] for c in r.json()["choices"]]
    assert all(re.fullmatch(definition, i) for i in inputs)
