"""``/v1/responses`` custom tools and the simulated hosted tools (web search, image generation, code
interpreter): items checked against the SDK's types on the raw JSON, typed stream events in order,
``include``, usage, input items stored and sent back, and bad declarations."""

from __future__ import annotations

import base64
import json
import re
import struct
import time

import httpx
import openai
import pydantic
import pytest
from openai.types.responses import (
    Response,
    ResponseCodeInterpreterToolCall,
    ResponseCustomToolCall,
    ResponseCustomToolCallItem,
    ResponseFunctionWebSearch,
    ResponseItem,
    ResponseOutputMessage,
    ResponseStreamEvent,
)
from openai.types.responses.response_output_item import ImageGenerationCall

pytestmark = pytest.mark.integration

STREAM_EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
ITEM = pydantic.TypeAdapter(ResponseItem)
TYPES = {
    "custom_tool_call": ResponseCustomToolCall,
    "web_search_call": ResponseFunctionWebSearch,
    "image_generation_call": ImageGenerationCall,
    "code_interpreter_call": ResponseCodeInterpreterToolCall,
    "message": ResponseOutputMessage,
}
PLATE = r"^[A-Z]{3}-\d{4}$"
CUSTOM = {
    "type": "custom",
    "name": "plate_lookup",
    "description": "Look up a licence plate",
    "format": {"type": "grammar", "syntax": "regex", "definition": PLATE},
}
SEARCH = {
    "type": "web_search",
    "search_context_size": "high",
    "user_location": {"type": "approximate", "country": "FR", "city": "Paris"},
    "filters": {"allowed_domains": ["meteo.fr", "weather.example"]},
}


def create(http: httpx.Client, **body: object) -> dict:
    """The raw JSON of a created response, validated strictly as the SDK's ``Response`` and each output
    item as its own type."""
    r = http.post("/v1/responses", json={"model": "gpt-4o", **body})
    assert r.status_code == 200, r.text
    raw = r.json()
    Response.model_validate(raw)
    for item in raw["output"]:
        TYPES[item["type"]].model_validate(item)
    return raw


def stream(http: httpx.Client, **body: object) -> list[dict]:
    """A streamed response's events (raw JSON), each validated against the SDK's event union as its
    own type, numbered 0, 1, 2, ..."""
    r = http.post("/v1/responses", json={"model": "gpt-4o", "stream": True, **body})
    assert r.status_code == 200, r.text
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    for e in events:
        assert STREAM_EVENT.validate_python(e).type == e["type"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def error(http: httpx.Client, **body: object) -> dict:
    r = http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", **body})
    assert r.status_code == 400, r.text
    return r.json()["error"]


def test_custom_tool_call_with_a_regex_grammar(http: httpx.Client) -> None:
    r = create(http, input="Look up the plate please", tools=[CUSTOM], seed=3)
    (call,) = r["output"]
    assert call["type"] == "custom_tool_call" and call["id"].startswith("ctc_")
    assert call["call_id"].startswith("call_") and call["name"] == "plate_lookup"
    assert re.fullmatch(PLATE, call["input"]), call["input"]
    assert r["usage"]["output_tokens"] > 0 and r["status"] == "completed"
    # text format (the default): prose; forced among a function and two custom tools
    text_tool = {"type": "custom", "name": "notes", "format": {"type": "text"}}
    fn = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}
    r = create(
        http, input="hi", tools=[fn, CUSTOM, text_tool], tool_choice={"type": "custom", "name": "notes"}
    )
    assert [(i["type"], i["name"]) for i in r["output"]] == [("custom_tool_call", "notes")]
    assert r["output"][0]["input"].strip()
    # lark: accepted, the input is prose
    lark = {**CUSTOM, "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "a"+'}}
    assert create(http, input="hi", tools=[lark])["output"][0]["input"]
    # allowed_tools restricts the choice
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "custom", "name": "notes"}]}
    r = create(http, input="hi", tools=[CUSTOM, text_tool], tool_choice=choice)
    assert r["output"][0]["name"] == "notes"


def test_custom_tool_round_trip_through_input_items(client: openai.OpenAI, http: httpx.Client) -> None:
    first = client.responses.create(model="gpt-4o", input="Look up ABC-1234", tools=[CUSTOM])
    call = first.output[0]
    assert isinstance(call, ResponseCustomToolCall)
    # the call sent back whole, then its output: the model answers with text
    items = [
        {"role": "user", "content": "Look up ABC-1234"},
        call.model_dump(exclude_none=True),
        {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Owner: Ada"},
    ]
    second = client.responses.create(model="gpt-4o", input=items, tools=[CUSTOM])  # type: ignore[arg-type]
    assert second.output[0].type == "message" and second.output_text
    listed = http.get(f"/v1/responses/{second.id}/input_items", params={"order": "asc"}).json()["data"]
    assert [i["type"] for i in listed] == ["message", "custom_tool_call", "custom_tool_call_output"]
    for raw in listed:
        ITEM.validate_python(raw)
    ResponseCustomToolCallItem.model_validate(listed[1])
    assert listed[1]["input"] == call.input and listed[2]["output"] == "Owner: Ada"
    assert listed[2]["status"] == "completed"
    # and through previous_response_id: the stored call is part of the conversation
    third = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "custom_tool_call_output", "call_id": call.call_id, "output": "ok"}],
        tools=[CUSTOM],
    )
    assert third.output[0].type == "message"
    assert third.usage and first.usage and third.usage.input_tokens > first.usage.input_tokens


def test_custom_tool_stream(client: openai.OpenAI, http: httpx.Client) -> None:
    events = stream(http, input="plate?", tools=[CUSTOM])
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.custom_tool_call_input.delta")
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.custom_tool_call_input.delta"] * deltas,
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2]["item"], events[-2]["item"]
    assert added["input"] == "" and added["status"] == "in_progress"
    written = "".join(e["delta"] for e in events if e["type"].endswith("input.delta"))
    assert written == events[-3]["input"] == done["input"] and re.fullmatch(PLATE, written)
    # the SDK's stream helper reads the same events
    with client.responses.stream(model="gpt-4o", input="plate?", tools=[CUSTOM]) as s:  # type: ignore[list-item]
        final = s.get_final_response()
    assert final.output[0].type == "custom_tool_call"


def test_web_search_call_and_citations(http: httpx.Client) -> None:
    r = create(
        http,
        input="What is the weather in Paris today?",
        tools=[SEARCH],
        include=["web_search_call.action.sources"],
    )
    search, message = r["output"]
    assert search["type"] == "web_search_call" and search["id"].startswith("ws_")
    assert search["status"] == "completed" and search["action"]["type"] == "search"
    assert search["action"]["query"] == "What is the weather in Paris today?"
    sources = [s["url"] for s in search["action"]["sources"]]
    assert len(sources) == 5  # search_context_size high
    assert all(re.fullmatch(r"https://(meteo\.fr|weather\.example)/fr/paris/[a-z0-9-]+", u) for u in sources)
    part = message["content"][0]
    text, annotations = part["text"], part["annotations"]
    assert annotations and all(a["type"] == "url_citation" for a in annotations)
    for a in annotations:
        assert (
            0 <= a["start_index"] < a["end_index"] <= len(text)
            and text[a["start_index"] : a["end_index"]].strip()
        )
        assert a["url"] in sources and a["title"]
    # without the include: no sources; web_search_preview and the default context size (medium)
    r = create(http, input="Any news?", tools=[{"type": "web_search_preview"}])
    assert "sources" not in r["output"][0]["action"]
    assert len(r["output"][1]["content"][0]["annotations"]) <= 3
    assert all(
        re.fullmatch(r"https://example\.(com|org|net)/any-new-?s?-\d", a["url"])
        for a in r["output"][1]["content"][0]["annotations"]
    )
    # the query the model wrote is output
    plain = create(http, input="Any news?", seed=1)
    searched = create(http, input="Any news?", seed=1, tools=[{"type": "web_search_preview"}])
    assert searched["usage"]["output_tokens"] > plain["usage"]["output_tokens"]
    # "none" searches nothing; a forced search runs even after a tool's output
    assert [i["type"] for i in create(http, input="hi", tools=[SEARCH], tool_choice="none")["output"]] == [
        "message"
    ]
    forced = create(http, input="hi", tools=[SEARCH], tool_choice={"type": "web_search_preview"})
    assert [i["type"] for i in forced["output"]] == ["web_search_call", "message"]


def test_web_search_stream(http: httpx.Client) -> None:
    events = stream(http, input="Weather in Paris. Tomorrow too. And the week after.", tools=[SEARCH])
    kinds = [e["type"] for e in events]
    assert kinds[:7] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.output_item.done",
    ]
    assert kinds[-1] == "response.completed"
    added = [e for e in kinds if e == "response.output_text.annotation.added"]
    message = events[-1]["response"]["output"][1]
    annotations = message["content"][0]["annotations"]
    assert len(added) == len(annotations) > 0
    # each annotation comes after the delta that completes its span
    seen = ""
    for e in events:
        if e["type"] == "response.output_text.delta":
            seen += e["delta"]
        elif e["type"] == "response.output_text.annotation.added":
            assert e["annotation"] == annotations[e["annotation_index"]]
            assert len(seen) >= e["annotation"]["end_index"]


def _png_size(b64: str) -> tuple[int, int]:
    data = base64.b64decode(b64)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_image_generation(http: httpx.Client) -> None:
    tool = {"type": "image_generation", "size": "1536x1024", "quality": "low", "partial_images": 2}
    r = create(http, input="A lighthouse at dawn", tools=[tool])
    image, message = r["output"]
    assert image["type"] == "image_generation_call" and image["id"].startswith("ig_")
    assert image["status"] == "completed" and _png_size(image["result"]) == (1536, 1024)
    assert image["revised_prompt"].startswith("A lighthouse at dawn")
    assert (image["size"], image["quality"], image["background"], image["output_format"]) == (
        "1536x1024",
        "low",
        "opaque",
        "png",
    )
    assert message["type"] == "message"
    events = stream(http, input="A lighthouse at dawn", tools=[tool])
    kinds = [e["type"] for e in events]
    assert kinds[2:9] == [
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.completed",
        "response.output_item.done",
    ]
    partials = [e for e in events if e["type"].endswith("partial_image")]
    assert [p["partial_image_index"] for p in partials] == [0, 1]
    assert all(_png_size(p["partial_image_b64"]) == (1536, 1024) for p in partials)
    assert events[2]["item"]["result"] is None and _png_size(events[8]["item"]["result"]) == (1536, 1024)
    # auto size is square
    r = create(http, input="x", tools=[{"type": "image_generation"}])
    assert _png_size(r["output"][0]["result"]) == (1024, 1024)


def test_code_interpreter(http: httpx.Client) -> None:
    tool = {"type": "code_interpreter", "container": {"type": "auto", "memory_limit": "4g"}}
    r = create(http, input="Average these", tools=[tool], include=["code_interpreter_call.outputs"])
    call, message = r["output"]
    assert call["type"] == "code_interpreter_call" and call["id"].startswith("ci_")
    assert call["container_id"].startswith("cntr_") and call["status"] == "completed"
    assert "values = [" in call["code"] and "print(" in call["code"]
    (logs,) = call["outputs"]
    assert logs["type"] == "logs" and re.fullmatch(r"\w+ = [\d.]+\n", logs["logs"])
    assert message["type"] == "message"
    mine = http.post("/v1/containers", json={"name": "mine"}).json()["id"]
    named = create(http, input="x", tools=[{"type": "code_interpreter", "container": mine}])
    assert named["output"][0]["container_id"] == mine and named["output"][0]["outputs"] is None
    events = stream(http, input="x", tools=[tool])
    kinds = [e["type"] for e in events]
    code_deltas = kinds.count("response.code_interpreter_call_code.delta")
    assert code_deltas > 1
    assert kinds[2 : 8 + code_deltas] == [
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
        *["response.code_interpreter_call_code.delta"] * code_deltas,
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
        "response.output_item.done",
    ]
    code = "".join(e["delta"] for e in events if e["type"] == "response.code_interpreter_call_code.delta")
    assert code == events[-1]["response"]["output"][0]["code"]


def test_hosted_items_round_trip_and_run_together(http: httpx.Client) -> None:
    container = http.post("/v1/containers", json={"name": "x"}).json()["id"]
    tools = [
        SEARCH,
        {"type": "code_interpreter", "container": container},
        {"type": "image_generation"},
        CUSTOM,
    ]
    r = create(http, input="Do it all", tools=tools)
    assert [i["type"] for i in r["output"]] == [
        "web_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "custom_tool_call",
    ]
    again = create(
        http, input=[{"role": "user", "content": "Do it all"}, *r["output"]], tools=tools, tool_choice="none"
    )
    listed = http.get(f"/v1/responses/{again['id']}/input_items", params={"order": "asc"}).json()["data"]
    assert [i["type"] for i in listed] == ["message", *(i["type"] for i in r["output"])]
    for raw, sent in zip(listed[1:], r["output"], strict=True):
        ITEM.validate_python(raw)
        assert raw["id"] == sent["id"]
    assert listed[3]["result"] == r["output"][2]["result"]
    bad = {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": 5}
    r2 = http.post("/v1/responses", json={"model": "gpt-4o", "input": [bad]})
    assert r2.status_code == 400 and r2.json()["error"]["param"] == "input[0].action"


def test_max_tool_calls_caps_the_built_in_calls_and_is_echoed(http: httpx.Client) -> None:
    tools = [SEARCH, {"type": "image_generation"}, CUSTOM]
    every = create(http, input="Do it all", tools=tools)
    assert [i["type"] for i in every["output"]] == [
        "web_search_call",
        "image_generation_call",
        "custom_tool_call",
    ]
    assert every["max_tool_calls"] is None
    one = create(http, input="Do it all", tools=tools, max_tool_calls=1)
    assert [i["type"] for i in one["output"]] == [
        "web_search_call",
        "custom_tool_call",
    ]  # a function call is not built in
    assert one["max_tool_calls"] == 1
    none = create(http, input="Do it all", tools=tools, max_tool_calls=0)
    assert [i["type"] for i in none["output"]] == ["custom_tool_call"]


def test_a_search_takes_simulated_time(start_server) -> None:
    with start_server("--ttft", "1", "--itl", "1") as url, httpx.Client(base_url=url, timeout=30) as http:
        body = {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16}
        started = time.monotonic()
        assert http.post("/v1/responses", json=body).status_code == 200
        plain = time.monotonic() - started
        started = time.monotonic()
        assert http.post("/v1/responses", json={**body, "tools": [SEARCH]}).status_code == 200
        searched = time.monotonic() - started
    assert searched >= 0.3 > plain


@pytest.mark.parametrize(
    ("tools", "extra", "param"),
    [
        ([{**SEARCH, "bogus": 1}], {}, "tools[0].bogus"),
        (
            [{**CUSTOM, "format": {"type": "grammar", "syntax": "lark", "definition": "a" * 40000}}],
            {},
            "tools[0].format.definition",
        ),
        (
            [{**CUSTOM, "format": {"type": "grammar", "syntax": "regex", "definition": "(ab"}}],
            {},
            "tools[0].format.definition",
        ),
        (
            [{**CUSTOM, "format": {"type": "grammar", "syntax": "ebnf", "definition": "a"}}],
            {},
            "tools[0].format.syntax",
        ),
        ([{**CUSTOM, "name": "bad name"}], {}, "tools[0].name"),
        ([{**SEARCH, "search_context_size": "huge"}], {}, "tools[0].search_context_size"),
        (
            [{**SEARCH, "filters": {"allowed_domains": ["a.com"] * 101}}],
            {},
            "tools[0].filters.allowed_domains",
        ),
        (
            [{**SEARCH, "filters": {"allowed_domains": ["not a domain"]}}],
            {},
            "tools[0].filters.allowed_domains",
        ),
        ([{**SEARCH, "user_location": {"country": "France"}}], {}, "tools[0].user_location.country"),
        ([{"type": "image_generation", "size": "999x999"}], {}, "tools[0].size"),
        ([{"type": "image_generation", "output_format": "jpeg"}], {}, "tools[0].output_format"),
        ([{"type": "image_generation", "partial_images": 4}], {}, "tools[0].partial_images"),
        ([{"type": "image_generation", "output_compression": 101}], {}, "tools[0].output_compression"),
        ([{"type": "code_interpreter"}], {}, "tools[0].container"),
        (
            [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["f"] * 51}}],
            {},
            "tools[0].container.file_ids",
        ),
        ([CUSTOM] * 129, {}, "tools"),
        ([CUSTOM], {"tool_choice": {"type": "custom", "name": "other"}}, "tool_choice"),
        ([CUSTOM], {"tool_choice": {"type": "image_generation"}}, "tool_choice"),
        ([{"type": "computer_use_preview"}], {}, "tools"),
    ],
)
def test_bad_tools_are_400s_naming_the_param(
    http: httpx.Client, tools: list, extra: dict, param: str
) -> None:
    e = error(http, tools=tools, **extra)
    assert e["param"] == param and e["type"] == "invalid_request_error", e
    # /v1/responses/input_tokens refuses the same declarations
    r = http.post(
        "/v1/responses/input_tokens", json={"model": "gpt-4o", "input": "hi", "tools": tools, **extra}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == param
