"""Structured outputs honour the keywords OpenAI's Structured Outputs supports: string ``pattern`` and
``format``, number bounds and ``multipleOf``, array ``minItems``/``maxItems`` (and ``uniqueItems``),
through the SDK's ``parse`` with pydantic models; unsatisfiable schemas are 400s."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import time
import uuid
from typing import Annotated

import jsonschema
import openai
import pydantic
import pytest
from pydantic import Field, conlist

pytestmark = pytest.mark.integration

ASK = [{"role": "user", "content": "Fill in the order."}]
SEEDS = range(8)


class Line(pydantic.BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    quantity: int = Field(ge=1, le=5)
    discount: float = Field(gt=0, lt=1)
    pack: int = Field(multiple_of=5, ge=5, le=50)
    price: float = Field(multiple_of=0.25, ge=0.5, le=10)


class Order(pydantic.BaseModel):
    reference: Annotated[str, Field(pattern=r"^ORD-[0-9a-f]{8}(-[A-Z]{2})?$")]
    lines: conlist(Line, min_length=1, max_length=3)
    tags: conlist(Annotated[str, Field(pattern=r"^#[a-z]{2,8}$")], max_length=2)
    ids: set[int]
    nick: Annotated[str, Field(min_length=12, max_length=14, pattern=r"^[a-z]+(_[a-z]+)*$")] | None
    when: datetime.datetime
    day: datetime.date
    at: datetime.time
    took: datetime.timedelta
    id: uuid.UUID
    temperature: float = Field(ge=-40.5, le=-10)
    offset: int = Field(gt=-3, lt=3)


# email-validator (for pydantic's EmailStr) is not a dependency: the formats pydantic has no type
# for without it are declared on plain strings and checked here.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]+$")
HOSTNAME = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)+$")


class Contact(pydantic.BaseModel):
    email: str = Field(json_schema_extra={"format": "email"})
    short_email: str = Field(min_length=6, max_length=9, json_schema_extra={"format": "email"})
    host: str = Field(json_schema_extra={"format": "hostname"})
    v4: ipaddress.IPv4Address
    v6: ipaddress.IPv6Address
    site: pydantic.AnyUrl


def check_order(order: Order, raw: dict) -> None:
    schema = openai.lib._pydantic.to_strict_json_schema(Order)
    jsonschema.validate(raw, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert len(raw["ids"]) == len(set(raw["ids"]))  # uniqueItems: a set would hide duplicates
    assert 1 <= len(order.lines) <= 3 and len(order.tags) <= 2
    for line in order.lines:
        assert re.fullmatch(r"[A-Z]{3}-\d{4}", line.sku)
        assert line.pack % 5 == 0 and line.price % 0.25 == 0


def test_chat_parse_honours_the_constraints(client):
    for seed in SEEDS:
        r = client.chat.completions.parse(model="gpt-4o", messages=ASK, response_format=Order, seed=seed)
        message = r.choices[0].message
        assert isinstance(message.parsed, Order), message.content
        check_order(message.parsed, json.loads(message.content))


def test_responses_parse_honours_the_constraints(client):
    for seed in SEEDS:
        # No `seed` in Responses: the prompt varies the draw.
        r = client.responses.parse(model="gpt-4o", input=f"Fill in order {seed}.", text_format=Order)
        assert isinstance(r.output_parsed, Order), r.output_text
        check_order(r.output_parsed, json.loads(r.output_text))


def test_tool_arguments_honour_the_constraints(client):
    tool = openai.pydantic_function_tool(Line, name="add_line")
    for seed in SEEDS:
        r = client.chat.completions.parse(
            model="gpt-4o", messages=ASK, tools=[tool], tool_choice="required", seed=seed
        )
        for call in r.choices[0].message.tool_calls:
            assert isinstance(call.function.parsed_arguments, Line), call.function.arguments


def test_formats_keep_their_shape(client):
    for seed in SEEDS:
        r = client.chat.completions.parse(model="gpt-4o", messages=ASK, response_format=Contact, seed=seed)
        contact = r.choices[0].message.parsed
        assert isinstance(contact, Contact), r.choices[0].message.content
        assert EMAIL.match(contact.email) and EMAIL.match(contact.short_email)
        assert 6 <= len(contact.short_email) <= 9
        assert HOSTNAME.match(contact.host)
        assert contact.site.scheme == "https"


def schema_format(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": schema}}


def wrap(prop: dict) -> dict:
    return {"type": "object", "properties": {"v": prop}, "required": ["v"], "additionalProperties": False}


BAD = [
    pytest.param(wrap({"type": "string", "pattern": "^[A-Z{3}$"}), "properties.v.pattern", id="bad-regex"),
    pytest.param(wrap({"type": "string", "pattern": "(unclosed"}), "properties.v.pattern", id="unclosed"),
    pytest.param(wrap({"type": "string", "pattern": "^(a{1000}){2000}$"}), "properties.v.pattern", id="huge"),
    pytest.param(
        wrap({"type": "integer", "minimum": 1, "maximum": 4, "multipleOf": 5}),
        "properties.v.multipleOf",
        id="no-multiple",
    ),
    pytest.param(
        wrap({"type": "number", "exclusiveMinimum": 2, "maximum": 2}), "properties.v", id="empty-range"
    ),
    pytest.param(
        wrap({"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 2}),
        "properties.v",
        id="no-integer",
    ),
    # Anchors that cannot hold, and word boundaries (not enforced): no valid string to give.
    pytest.param(wrap({"type": "string", "pattern": "a^b"}), "properties.v.pattern", id="mid-anchor"),
    pytest.param(wrap({"type": "string", "pattern": "^x$y"}), "properties.v.pattern", id="mid-dollar"),
    pytest.param(
        wrap({"type": "string", "pattern": r"^\w\b\w$"}), "properties.v.pattern", id="word-boundary"
    ),
    # A pattern with no match of a length within minLength/maxLength.
    pytest.param(
        wrap({"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 10}),
        "properties.v.minLength",
        id="too-short",
    ),
    pytest.param(
        wrap({"type": "string", "pattern": "a", "maxLength": 0}), "properties.v.maxLength", id="too-long"
    ),
    pytest.param(
        wrap({"type": "string", "pattern": "^((((aa)?){1000}){1000}){4}$", "minLength": 5, "maxLength": 5}),
        "properties.v.minLength",
        id="odd-length",
    ),
    # uniqueItems with fewer distinct values than minItems.
    *(
        pytest.param(
            wrap({"type": "array", "items": items, "minItems": n, "uniqueItems": True}),
            "properties.v.uniqueItems",
            id=f"unique-{name}",
        )
        for name, items, n in [
            ("pattern", {"type": "string", "pattern": "^[ab]$"}, 5),
            ("int-range", {"type": "integer", "minimum": 1, "maximum": 3}, 10),
            ("any-of", {"anyOf": [{"enum": [1]}, {"enum": [2]}]}, 5),
            ("empty-object", {"type": "object", "properties": {}}, 5),
            ("one-and-one-point-o", {"enum": [1, 1.0]}, 2),
        ]
    ),
    # Numbers checked on what allOf and $ref siblings merge.
    pytest.param(
        wrap({"allOf": [{"type": "integer"}, {"minimum": 1.2, "maximum": 1.8}]}),
        "properties.v",
        id="all-of-integer",
    ),
    pytest.param(
        wrap({"allOf": [{"type": "number", "minimum": 5, "maximum": 7}, {"multipleOf": 10}]}),
        "properties.v.multipleOf",
        id="all-of-multiple",
    ),
    pytest.param(
        wrap({"type": "number", "minimum": 1e300, "allOf": [{}]}), "properties.v.minimum", id="all-of-bound"
    ),
    pytest.param(
        {**wrap({"$ref": "#/$defs/I", "minimum": 1e300}), "$defs": {"I": {"type": "integer"}}},
        "properties.v.minimum",
        id="ref-sibling",
    ),
    pytest.param(
        wrap({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 5e-324}),
        "properties.v",
        id="empty-exclusive",
    ),
    pytest.param(
        wrap({"type": "number", "minimum": 1, "maximum": 2, "multipleOf": 1e-320}),
        "properties.v.multipleOf",
        id="step-too-fine",
    ),
]


@pytest.mark.parametrize("schema, at", BAD)
def test_unsatisfiable_schemas_are_400s(http, schema, at):
    r = http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": ASK, "response_format": schema_format(schema)},
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "response_format.json_schema.schema"
    assert error["code"] == "invalid_json_schema"
    assert f"'{at}'" in error["message"], error["message"]


def test_unsatisfiable_schemas_are_400s_in_responses_and_tools(http):
    bad = wrap({"type": "string", "pattern": "[z-a]"})
    r = http.post(
        "/v1/responses",
        json={
            "model": "gpt-4o",
            "input": "x",
            "text": {"format": {"type": "json_schema", "name": "x", "schema": bad}},
        },
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "text.format.schema"
    assert r.json()["error"]["type"] == "invalid_request_error"
    tool = {"type": "function", "function": {"name": "f", "parameters": bad}}
    r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": ASK, "tools": [tool]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "tools[0].function.parameters"


def test_a_look_around_is_not_interpreted_but_accepted(client):
    # regex-syntax has no look-around: the string is generated as if there were no pattern.
    schema = wrap({"type": "string", "pattern": "^(?=.*x).+$"})
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, response_format=schema_format(schema))
    assert isinstance(json.loads(r.choices[0].message.content)["v"], str)


def test_fine_steps_give_exact_multiples_over_wide_ranges(client):
    class Wide(pydantic.BaseModel):
        half: float = Field(ge=0, le=1e15, multiple_of=0.5)
        seventh: float = Field(ge=-1e15, le=1e15, multiple_of=0.7)
        tenth: float = Field(ge=0, le=1e15, multiple_of=0.1)

    tiny = wrap({"type": "number", "minimum": -1e300, "maximum": 1e300, "multipleOf": 1e-300})
    for seed in range(20):
        r = client.chat.completions.parse(model="gpt-4o", messages=ASK, response_format=Wide, seed=seed)
        assert isinstance(r.choices[0].message.parsed, Wide), r.choices[0].message.content
        r = client.chat.completions.create(
            model="gpt-4o", messages=ASK, response_format=schema_format(tiny), seed=seed
        )
        jsonschema.validate(json.loads(r.choices[0].message.content), tiny)


def test_unique_items_reach_min_items(client):
    for items, n in [
        ({"type": "number", "minimum": 0, "maximum": 0.01}, 1000),
        ({"type": "integer", "minimum": 1, "maximum": 100}, 100),
        ({"type": "string", "pattern": "^[ab]{3}$"}, 8),
        ({"enum": [1, 1.0, 2, 2.0, 3]}, 3),
    ]:
        schema = wrap({"type": "array", "items": items, "minItems": n, "uniqueItems": True})
        for seed in range(4):
            r = client.chat.completions.create(
                model="gpt-4o", messages=ASK, response_format=schema_format(schema), seed=seed
            )
            jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_hostile_patterns_cost_milliseconds(http):
    def post(schema, **extra):
        started = time.monotonic()
        r = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o", "messages": ASK, "response_format": schema_format(schema), **extra},
        )
        return r, time.monotonic() - started

    # Aimed at a length only even matches reach: exact, and fast, for 20 items and 8 choices.
    item = {"type": "string", "pattern": "^((((aa)?){1000}){1000}){4}$", "minLength": 6, "maxLength": 6}
    schema = wrap({"type": "array", "items": item, "minItems": 20, "maxItems": 20})
    r, took = post(schema, n=8)
    assert r.status_code == 200 and took < 2, (r.status_code, took)
    for choice in r.json()["choices"]:
        assert json.loads(choice["message"]["content"])["v"] == ["aaaaaa"] * 20
    # A thousand copies of a costly pattern compile once; a thousand different ones are refused.
    costly = r"(?i)[^\p{L}\p{N}]" * 80
    same = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "pattern": costly} for i in range(1000)},
    }
    r, took = post(same)
    assert r.status_code == 200 and took < 3, (r.status_code, took)
    different = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "pattern": f"{i}{costly}"} for i in range(1000)},
    }
    r, took = post(different)
    assert r.status_code == 400 and took < 3, (r.status_code, took)
    assert "ranges together" in r.json()["error"]["message"]


def test_the_output_of_a_request_is_bounded(http):
    # Up to 1 MB per string, 128 choices: the choices share the request's 16 MiB.
    schema = wrap({"type": "string", "pattern": "^(a{1000}){0,1000}$"})
    r = http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": ASK, "n": 128, "response_format": schema_format(schema)},
    )
    assert r.status_code == 200 and len(r.content) < 20 << 20, (r.status_code, len(r.content))
    for choice in r.json()["choices"]:
        jsonschema.validate(json.loads(choice["message"]["content"]), schema)


def test_values_forced_over_the_request_budget_are_a_400_naming_n(http):
    schema = wrap({"type": "string", "pattern": "^(a{1000}){1000}$"})
    r = http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": ASK, "n": 128, "response_format": schema_format(schema)},
    )
    assert r.status_code == 400, r.status_code
    assert r.json()["error"]["param"] == "n"


def test_tool_parameters_must_be_objects(http):
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}
    r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": ASK, "tools": [tool]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "tools[0].function.parameters"
