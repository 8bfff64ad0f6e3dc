"""Structured outputs: ``response_format`` json_schema / json_object / text, and the SDK's ``parse``."""

from __future__ import annotations

import json
import time
from enum import Enum

import jsonschema
import openai
import pydantic
import pytest

pytestmark = pytest.mark.integration

ASK = [{"role": "user", "content": "Extract the event as JSON."}]
EVENT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "starts": {"type": "string", "format": "date"},
        "attendees": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "kind": {"type": "string", "enum": ["talk", "workshop"]},
        "venue": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Venue"}]},
    },
    "required": ["name", "starts", "attendees", "priority", "kind", "venue"],
    "additionalProperties": False,
    "$defs": {
        "Venue": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "capacity": {"type": "integer", "minimum": 0}},
            "required": ["city", "capacity"],
            "additionalProperties": False,
        }
    },
}


def schema_format(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "event", "strict": True, "schema": schema}}


def test_json_schema_content_validates(client):
    for seed in range(10):
        r = client.chat.completions.create(
            model="gpt-4o", messages=ASK, response_format=schema_format(EVENT), seed=seed
        )
        assert r.choices[0].finish_reason == "stop"
        jsonschema.validate(
            json.loads(r.choices[0].message.content), EVENT, format_checker=jsonschema.FormatChecker()
        )


def test_json_schema_streams_the_same_content(client):
    kw = {"model": "gpt-4o", "messages": ASK, "response_format": schema_format(EVENT), "seed": 11}
    whole = client.chat.completions.create(**kw).choices[0].message.content
    parts = [
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(**kw, stream=True)
        if c.choices
    ]
    assert "".join(parts) == whole
    assert len([p for p in parts if p]) > 5


def test_usage_counts_the_json_tokens_and_max_tokens_truncates(client):
    r = client.chat.completions.create(
        model="gpt-4o", messages=ASK, response_format=schema_format(EVENT), max_tokens=5
    )
    assert r.usage.completion_tokens == 5 and r.choices[0].finish_reason == "length"


def test_json_object_is_an_object_and_text_is_prose(client):
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, response_format={"type": "json_object"})
    assert isinstance(json.loads(r.choices[0].message.content), dict)
    r = client.chat.completions.create(
        model="gpt-4o", messages=ASK, response_format={"type": "text"}, max_tokens=20
    )
    with pytest.raises(ValueError):
        json.loads(r.choices[0].message.content)


class Colour(str, Enum):
    red = "red"
    blue = "blue"


class Step(pydantic.BaseModel):
    explanation: str
    output: str


class Answer(pydantic.BaseModel):
    steps: list[Step]
    final_answer: str
    colour: Colour
    confidence: float
    note: str | None


def test_sdk_parse_with_a_pydantic_model(client):
    r = client.chat.completions.parse(model="gpt-4o-mini", messages=ASK, response_format=Answer)
    parsed = r.choices[0].message.parsed
    assert isinstance(parsed, Answer) and parsed.steps and isinstance(parsed.colour, Colour)
    r = client.beta.chat.completions.parse(model="gpt-4o-mini", messages=ASK, response_format=Answer)
    assert isinstance(r.choices[0].message.parsed, Answer)


@pytest.mark.parametrize(
    "response_format, param",
    [
        ({"type": "yaml"}, "response_format.type"),
        ({}, "response_format.type"),
        ("json", "response_format"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {"name": "x"}}, "response_format.json_schema.schema"),
        ({"type": "json_schema", "json_schema": {"schema": EVENT}}, "response_format.json_schema.name"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "strng"}}},
            "response_format.json_schema.schema",
        ),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "integer", "minimum": 3, "maximum": 1}},
            },
            "response_format.json_schema.schema",
        ),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "array", "minItems": 10**7}},
            },
            "response_format.json_schema.schema",
        ),
    ],
)
def test_bad_response_formats_are_400s(http, response_format, param):
    r = http.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": ASK, "response_format": response_format}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


# 150 bytes whose every value nests arrays of 8 down without end: it once took a worker's memory.
ARRAYS_OF_ITSELF = {
    "$defs": {"N": {"type": "array", "minItems": 8, "items": {"$ref": "#/$defs/N"}}},
    "$ref": "#/$defs/N",
}


@pytest.mark.parametrize(
    "schema",
    [
        ARRAYS_OF_ITSELF,
        {
            "$defs": {
                "N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}, "required": ["next"]}
            },
            "$ref": "#/$defs/N",
        },
        {
            "type": "array",
            "minItems": 300,
            "items": {
                "type": "array",
                "minItems": 300,
                "items": {"type": "array", "minItems": 300, "items": {"type": "integer"}},
            },
        },
    ],
    ids=["arrays-of-itself", "required-recursion", "300-cubed"],
)
def test_a_schema_too_big_to_generate_is_a_quick_400(client, schema):
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o", messages=ASK, response_format=schema_format(schema))
    assert time.monotonic() - started < 5
    assert e.value.body["param"] == "response_format.json_schema.schema"
    # The worker lived: the next structured output is answered and valid.
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, response_format=schema_format(EVENT))
    jsonschema.validate(json.loads(r.choices[0].message.content), EVENT)


def test_a_big_optional_schema_stays_within_the_budget(client):
    schema = {"type": "array", "minItems": 3, "items": {"type": "string", "minLength": 100_000}}
    r = client.chat.completions.create(model="gpt-4o", messages=ASK, response_format=schema_format(schema))
    content = r.choices[0].message.content
    assert len(content) <= 1 << 20
    jsonschema.validate(json.loads(content), schema)
