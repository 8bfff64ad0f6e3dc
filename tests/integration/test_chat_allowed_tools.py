"""Chat's ``tool_choice: {"type": "allowed_tools", ...}`` (the SDK's ``ChatCompletionAllowedToolChoiceParam``)
through the openai SDK: only the listed tools are called (``required`` always, ``auto`` as ``auto``),
streamed and not, every tool still counts in the prompt, and a bad choice is a 400 naming its part."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionAllowedToolChoiceParam

pytestmark = pytest.mark.integration

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER},
    },
    {"type": "function", "function": {"name": "search_docs", "description": "Search the docs"}},
    {"type": "custom", "custom": {"name": "notes", "description": "Free-form notes"}},
    {"type": "function", "function": {"name": "now"}},
]
#: The user asks about the weather: without a restriction get_weather is the tool called.
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]


def allowed(mode: str, *names: tuple[str, str]) -> ChatCompletionAllowedToolChoiceParam:
    return {
        "type": "allowed_tools",
        "allowed_tools": {
            "mode": mode,
            "tools": [{"type": kind, kind: {"name": name}} for kind, name in names],
        },  # type: ignore[misc]
    }


def called(r) -> list[str]:
    calls = r.choices[0].message.tool_calls or []
    return [c.function.name if c.type == "function" else c.custom.name for c in calls]


def test_required_calls_only_the_allowed_tools(client: openai.OpenAI) -> None:
    choice = allowed("required", ("function", "search_docs"), ("custom", "notes"))
    seen: set[str] = set()
    for seed in range(12):
        r = client.chat.completions.create(
            model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=choice, seed=seed
        )
        assert r.choices[0].finish_reason == "tool_calls"
        names = called(r)
        assert names and set(names) <= {"search_docs", "notes"}, names
        seen.update(names)
    assert seen == {"search_docs", "notes"}
    # one allowed function, serial: exactly that call, its arguments valid JSON
    one = allowed("required", ("function", "get_weather"))
    r = client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=one, parallel_tool_calls=False
    )
    (call,) = r.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and isinstance(
        json.loads(call.function.arguments)["city"], str
    )


def test_required_calls_after_a_tool_result_and_auto_answers(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice="required")
    call = first.choices[0].message.tool_calls[0]
    history = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "21 C"},
    ]
    only_now = ("function", "now")
    r = client.chat.completions.create(
        model="gpt-4o", messages=history, tools=TOOLS, tool_choice=allowed("required", only_now)
    )
    assert called(r) == ["now"]
    r = client.chat.completions.create(
        model="gpt-4o", messages=history, tools=TOOLS, tool_choice=allowed("auto", only_now), max_tokens=20
    )
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content
    # auto right after the question: the model may call, and calls only what is allowed
    for seed in range(6):
        r = client.chat.completions.create(
            model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=allowed("auto", only_now), seed=seed
        )
        assert set(called(r)) <= {"now"}
    # an empty list allows nothing: auto answers in text
    r = client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=allowed("auto"), max_tokens=10
    )
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content


def test_streamed_calls_are_only_the_allowed_ones(client: openai.OpenAI, http: httpx.Client) -> None:
    choice = allowed("required", ("function", "now"), ("function", "search_docs"))
    for seed in range(4):
        body = {"model": "gpt-4o", "messages": ASK, "tools": TOOLS, "tool_choice": choice, "seed": seed}
        with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
            assert r.status_code == 200
            chunks = [json.loads(x[6:]) for x in r.iter_lines() if x.startswith("data: {")]
        names = [
            tc["function"]["name"]
            for c in chunks
            for tc in c["choices"][0]["delta"].get("tool_calls", [])
            if "name" in tc.get("function", {})
        ]
        assert names and set(names) <= {"now", "search_docs"}
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
        # the same seed, not streamed: the same calls
        assert called(client.chat.completions.create(**body)) == names
    with client.chat.completions.stream(model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=choice) as s:
        final = s.get_final_completion()
    assert set(called(final)) <= {"now", "search_docs"}


def test_every_tool_still_counts_in_the_prompt(client: openai.OpenAI) -> None:
    """The whole ``tools`` list is the prompt's (what keeps it cacheable): the restriction changes the
    reply only."""
    plain = client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice="required", max_tokens=1
    )
    restricted = client.chat.completions.create(
        model="gpt-4o",
        messages=ASK,
        tools=TOOLS,
        tool_choice=allowed("required", ("function", "now")),
        max_tokens=1,
    )
    assert restricted.usage.prompt_tokens == plain.usage.prompt_tokens


def entry(kind: str, **fields: object) -> dict:
    return {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": kind, **fields}]}}


@pytest.mark.parametrize(
    ("choice", "param", "code"),
    [
        ({"type": "allowed_tools"}, "tool_choice.allowed_tools", "missing_required_parameter"),
        ({"type": "allowed_tools", "allowed_tools": "auto"}, "tool_choice.allowed_tools", "invalid_type"),
        (
            {"type": "allowed_tools", "allowed_tools": {"tools": []}},
            "tool_choice.allowed_tools.mode",
            "missing_required_parameter",
        ),
        (allowed("sometimes", ("function", "now")), "tool_choice.allowed_tools.mode", "invalid_value"),
        (allowed("none", ("function", "now")), "tool_choice.allowed_tools.mode", "invalid_value"),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto"}},
            "tool_choice.allowed_tools.tools",
            "missing_required_parameter",
        ),
        (
            {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": "now"}},
            "tool_choice.allowed_tools.tools",
            "invalid_type",
        ),
        (allowed("required"), "tool_choice.allowed_tools.tools", "empty_array"),
        (allowed("auto", ("function", "missing")), "tool_choice.allowed_tools.tools[0]", "invalid_value"),
        (
            allowed("required", ("function", "now"), ("function", "notes")),  # notes is a custom tool
            "tool_choice.allowed_tools.tools[1]",
            "invalid_value",
        ),
        (allowed("auto", ("custom", "now")), "tool_choice.allowed_tools.tools[0]", "invalid_value"),
        (entry("web_search"), "tool_choice.allowed_tools.tools[0].type", "invalid_value"),
        (
            entry("function", name="now"),
            "tool_choice.allowed_tools.tools[0].function",
            "missing_required_parameter",
        ),
        (
            entry("function", function={}),
            "tool_choice.allowed_tools.tools[0].function.name",
            "missing_required_parameter",
        ),
        (
            entry("function", function={"name": 7}),
            "tool_choice.allowed_tools.tools[0].function.name",
            "invalid_type",
        ),
    ],
)
def test_bad_allowed_tools_are_400s_naming_the_param(
    http: httpx.Client, choice: dict, param: str, code: str
) -> None:
    for stream in (False, True):
        body = {"model": "gpt-4o", "messages": ASK, "tools": TOOLS, "tool_choice": choice, "stream": stream}
        r = http.post("/v1/chat/completions", json=body)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error"), error


def test_not_declared_is_named_in_openai_words(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="gpt-4o", messages=ASK, tools=TOOLS, tool_choice=allowed("auto", ("function", "get_time"))
        )
    assert e.value.param == "tool_choice.allowed_tools.tools[0]"
    assert "'get_time' is not declared in 'tools'" in e.value.message
    # without tools, allowed_tools is refused as any tool_choice is
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="gpt-4o", messages=ASK, tool_choice=allowed("auto", ("function", "now"))
        )
    assert e.value.param == "tool_choice"
