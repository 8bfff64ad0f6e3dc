"""Tool calling through the openai SDK: arguments validate against each function's schema."""

from __future__ import annotations

import json

import jsonschema
import openai
import pydantic
import pytest

pytestmark = pytest.mark.integration

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "when": {"type": "string", "format": "date-time"},
        "contact": {"type": "string", "format": "email"},
        "ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "minItems": 1, "maxItems": 3},
        "area": {
            "type": "object",
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number"},
            },
            "required": ["lat", "lon"],
        },
    },
    "required": ["city", "unit", "days", "area", "ids"],
    "additionalProperties": False,
}
SEARCH = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "top_k": {"type": "integer"}},
    "required": ["query"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather by city", "parameters": WEATHER},
    },
    {"type": "function", "function": {"name": "search_docs", "parameters": SEARCH}},
    {"type": "function", "function": {"name": "now"}},
]
SCHEMAS = {t["function"]["name"]: t["function"].get("parameters", {"type": "object"}) for t in TOOLS}
ASK = [{"role": "user", "content": "What's the weather in Paris for the next three days?"}]
CHECKER = jsonschema.FormatChecker()


def check_call(call) -> dict:
    assert call.type == "function" and call.id.startswith("call_")
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, SCHEMAS[call.function.name], format_checker=CHECKER)
    return args


def test_auto_calls_tools_whose_arguments_validate(client):
    for seed in range(8):
        r = client.chat.completions.create(model="gpt-4o", messages=ASK, tools=TOOLS, seed=seed)
        choice = r.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        assert 1 <= len(choice.message.tool_calls) <= 3
        names = [c.function.name for c in choice.message.tool_calls]
        assert len(set(names)) == len(names)
        for call in choice.message.tool_calls:
            check_call(call)
        assert r.usage.completion_tokens > 0


def test_parallel_calls_only_when_allowed(client):
    counts = {
        len(
            client.chat.completions.create(model="gpt-4o", messages=ASK, tools=TOOLS, seed=s)
            .choices[0]
            .message.tool_calls
        )
        for s in range(12)
    }
    assert max(counts) > 1
    for seed in range(6):
        r = client.chat.completions.create(
            model="gpt-4o", messages=ASK, tools=TOOLS, seed=seed, parallel_tool_calls=False
        )
        (call,) = r.choices[0].message.tool_calls
        assert call.function.name == "get_weather"  # the one sharing words with the question


def test_tool_choice_none_required_and_named(client):
    r = client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice="none", max_tokens=10
    )
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")
    named = {"type": "function", "function": {"name": "get_weather"}}
    for seed in range(5):
        r = client.chat.completions.create(
            model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=named, seed=seed
        )
        (call,) = r.choices[0].message.tool_calls
        assert call.function.name == "get_weather"
        args = check_call(call)
        assert set(WEATHER["required"]) <= set(args)


def test_a_tool_result_gets_a_text_answer_unless_required(client):
    first = client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=TOOLS, parallel_tool_calls=False
    )
    call = first.choices[0].message.tool_calls[0]
    history = ASK + [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]
    r = client.chat.completions.create(model="gpt-4o", messages=history, tools=TOOLS, max_tokens=30)
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content and r.choices[0].finish_reason in ("stop", "length")
    # The earlier call's arguments count in the prompt.
    assert r.usage.prompt_tokens > first.usage.prompt_tokens
    again = client.chat.completions.create(
        model="gpt-4o", messages=history, tools=TOOLS, tool_choice="required"
    )
    assert again.choices[0].finish_reason == "tool_calls"


def test_tool_definitions_count_in_the_prompt(client):
    bare = client.chat.completions.create(model="gpt-4o", messages=ASK, max_tokens=1)
    tooled = client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice="none", max_tokens=1
    )
    assert tooled.usage.prompt_tokens > bare.usage.prompt_tokens + 50


def test_streamed_tool_call_deltas_reassemble(http):
    body = {"model": "gpt-4o", "messages": ASK, "tools": TOOLS, "stream": True, "seed": 4}
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    calls: dict[int, dict] = {}
    finish = None
    for chunk in chunks:
        delta = chunk["choices"][0]["delta"]
        finish = chunk["choices"][0]["finish_reason"] or finish
        for tc in delta.get("tool_calls", []):
            if tc["index"] not in calls:
                # The first delta of a call carries its id, type and name, with empty arguments.
                assert tc["id"].startswith("call_") and tc["type"] == "function"
                assert tc["function"]["arguments"] == ""
                calls[tc["index"]] = {"name": tc["function"]["name"], "arguments": ""}
            else:
                assert set(tc) == {"index", "function"} and set(tc["function"]) == {"arguments"}
                calls[tc["index"]]["arguments"] += tc["function"]["arguments"]
    assert finish == "tool_calls"
    assert sorted(calls) == list(range(len(calls)))
    for call in calls.values():
        jsonschema.validate(json.loads(call["arguments"]), SCHEMAS[call["name"]], format_checker=CHECKER)
    fragments = sum(1 for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", []))
    assert fragments > 2 * len(calls)


def test_max_tokens_cuts_a_tool_call_as_openai_does(client):
    """A call the budget ends in keeps the arguments that fit and finishes with ``length`` (before,
    the whole call came back whatever max_tokens said: completion_tokens 18 for max_tokens 3)."""
    ask = {"model": "gpt-4o", "messages": ASK, "tools": TOOLS, "tool_choice": "required", "seed": 4}
    whole = client.chat.completions.create(**ask)
    cut = client.chat.completions.create(**ask, max_tokens=5)
    assert whole.choices[0].finish_reason == "tool_calls" and whole.usage.completion_tokens > 5
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 5
    full, short = whole.choices[0].message.tool_calls[0], cut.choices[0].message.tool_calls[0]
    assert full.function.name == short.function.name
    assert full.function.arguments.startswith(short.function.arguments)
    assert len(short.function.arguments) < len(full.function.arguments)
    for n in (1, 2):  # too little for the function's name: no call, and nothing charged past max_tokens
        none = client.chat.completions.create(**ask, max_tokens=1, n=n)
        assert none.usage.completion_tokens <= n and all(c.finish_reason == "length" for c in none.choices)


def test_sdk_stream_helper_accumulates_tool_calls(client):
    with client.chat.completions.stream(model="gpt-4o", messages=ASK, tools=TOOLS, seed=2) as stream:
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert final.choices[0].finish_reason == "tool_calls"
    assert [e.name for e in done] == [c.function.name for c in calls]
    for call in calls:
        check_call(call)
    assert stream.current_completion_snapshot.choices[0].message.tool_calls[0].index == 0


def test_strict_pydantic_tools_are_parsed(client):
    class Lookup(pydantic.BaseModel):
        sku: str
        quantity: int
        express: bool

    tool = openai.pydantic_function_tool(Lookup)
    r = client.chat.completions.parse(model="gpt-4o", messages=ASK, tools=[tool], tool_choice="required")
    parsed = r.choices[0].message.tool_calls[0].function.parsed_arguments
    assert isinstance(parsed, Lookup)


def test_legacy_functions_answer_with_function_call(client):
    functions = [{"name": "get_weather", "parameters": WEATHER}]
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, functions=functions)
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "function_call"
    assert msg.function_call.name == "get_weather" and msg.tool_calls is None
    jsonschema.validate(json.loads(msg.function_call.arguments), WEATHER, format_checker=CHECKER)
    r = client.chat.completions.create(
        model="gpt-4o", messages=ASK, functions=functions, function_call="none", max_tokens=5
    )
    assert r.choices[0].message.function_call is None
    chunks = list(
        client.chat.completions.create(model="gpt-4o", messages=ASK, functions=functions, stream=True)
    )
    args = "".join(
        c.choices[0].delta.function_call.arguments for c in chunks if c.choices[0].delta.function_call
    )
    jsonschema.validate(json.loads(args), WEATHER)
    assert chunks[-1].choices[0].finish_reason == "function_call"


def fn(name: str = "f", parameters: object = None) -> dict:
    f: dict = {"name": name}
    if parameters is not None:
        f["parameters"] = parameters
    return {"type": "function", "function": f}


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"tools": []}, "tools"),
        ({"tools": "get_weather"}, "tools"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
        ({"tools": [fn("has space")]}, "tools[0].function.name"),
        ({"tools": [fn(parameters={"type": "nope"})]}, "tools[0].function.parameters"),
        (
            {"tools": [fn(parameters={"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}})]},
            "tools[0].function.parameters",
        ),
        ({"tools": [fn(parameters={"enum": []})]}, "tools[0].function.parameters"),
        (
            # Arguments would nest arrays of 8 without end: too big to generate, whatever max_tokens.
            {
                "tools": [
                    fn(
                        parameters={
                            "$defs": {"N": {"type": "array", "minItems": 8, "items": {"$ref": "#/$defs/N"}}},
                            "$ref": "#/$defs/N",
                        }
                    )
                ],
                "max_tokens": 5,
            },
            "tools[0].function.parameters",
        ),
        (
            {"tools": [fn()], "tool_choice": {"type": "function", "function": {"name": "other"}}},
            "tool_choice",
        ),
        ({"tools": [fn()], "tool_choice": "always"}, "tool_choice"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"functions": [{"name": "f"}], "function_call": {"name": "g"}}, "function_call"),
        ({"functions": [{"name": "f"}], "tools": [fn()]}, "functions"),
    ],
)
def test_bad_tool_declarations_are_400s_naming_the_param(http, extra, param):
    r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": ASK, **extra})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


def test_models_without_tools_reject_them(http):
    body = {"model": "gpt-3.5-turbo-instruct", "messages": ASK, "tools": [fn()]}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == "tools"
