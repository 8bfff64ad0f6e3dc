"""JSON mode follows the schema the prompt holds (``fakeai_core::text::prompt_schema``).

``response_format: {"type": "json_object"}`` (Responses: ``text.format``) with a JSON Schema in a
system, developer or user message answers with JSON generated from that schema, as the clients that
write the schema into the prompt and parse the answer into a pydantic model expect (the ``openai``
SDK by hand, instructor's ``Mode.JSON``, LangChain's ``PydanticOutputParser`` and
``with_structured_output(method="json_mode")``): on the hot path and the Python chain, streamed,
with ``n`` > 1, and on the Responses API. Without a schema it is still an arbitrary object, and a
schema the generator refuses is never a 400.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Literal

import httpx
import pydantic
import pytest

pytestmark = pytest.mark.integration

JSON_MODE = {"type": "json_object"}
#: A header the Python chain acts on without changing the answer: the request skips the hot path.
PYTHON_PATH = {"x-fakeai-ttft-ms": "0"}
ASK = "Jane Doe, 31, born 1994-03-02, lives in Paris 75001; she is a colleague."


class Address(pydantic.BaseModel):
    city: str
    zip_code: str = pydantic.Field(pattern=r"^[0-9]{5}$")


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(description="The full name")
    age: int = pydantic.Field(ge=0, le=130)
    born: datetime.date
    email: str | None = None
    tags: list[str]
    kind: Literal["friend", "colleague"]
    address: Address


FIELDS = set(Person.model_fields)
SCHEMA_PROMPT = "Extract the person. Reply with JSON matching this schema:\n" + json.dumps(
    Person.model_json_schema()
)


def person(content: str | None) -> Person:
    """The answer as a ``Person``, and only the model's fields (not an arbitrary object that happens to
    validate)."""
    assert content is not None
    found = Person.model_validate_json(content)
    assert set(json.loads(content)) <= FIELDS, content
    return found


def messages(system: str = SCHEMA_PROMPT) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": ASK}]


def hot_served(base_url: str) -> int:
    text = httpx.get(base_url + "/metrics/prometheus", timeout=10).text
    found = re.search(r"^fakeai_hot_path_requests_total (\S+)$", text, re.M)
    return int(float(found.group(1))) if found else 0


def test_a_schema_in_the_system_prompt_is_followed(client, base_url):
    before = hot_served(base_url)
    for seed in range(8):
        r = client.chat.completions.create(
            model="gpt-4o", messages=messages(), response_format=JSON_MODE, seed=seed
        )
        assert r.choices[0].finish_reason == "stop"
        person(r.choices[0].message.content)
    assert hot_served(base_url) >= before + 8, "served by the Rust hot path"


def test_the_python_chain_answers_the_same(client):
    kw = {"model": "gpt-4o", "messages": messages(), "response_format": JSON_MODE, "seed": 5}
    hot = client.chat.completions.create(**kw).choices[0].message.content
    cold = client.chat.completions.create(**kw, extra_headers=PYTHON_PATH).choices[0].message.content
    assert person(cold) == person(hot)


def test_every_choice_and_the_stream_follow_it(client):
    kw = {"model": "gpt-4o", "messages": messages(), "response_format": JSON_MODE, "seed": 3}
    r = client.chat.completions.create(**kw, n=3)
    assert len(r.choices) == 3
    for choice in r.choices:
        person(choice.message.content)
    whole = client.chat.completions.create(**kw).choices[0].message.content
    parts = [
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(**kw, stream=True)
        if c.choices
    ]
    assert "".join(parts) == whole and len([p for p in parts if p]) > 5
    person("".join(parts))


def test_a_schema_in_a_fenced_user_message_and_in_text_parts(client):
    fenced = f"{ASK}\n\nAnswer with JSON that validates against:\n```json\n{json.dumps(Person.model_json_schema(), indent=2)}\n```"
    r = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": fenced}], response_format=JSON_MODE
    )
    person(r.choices[0].message.content)
    parts = [{"type": "text", "text": "Extract the person."}, {"type": "text", "text": fenced}]
    r = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": parts}], response_format=JSON_MODE
    )
    person(r.choices[0].message.content)


def test_instructors_json_mode_prompt(client):
    schema = json.dumps(Person.model_json_schema(), indent=2, ensure_ascii=False)
    system = f"""
        As a genius expert, your task is to understand the content and provide
        the parsed objects in json that match the following json_schema:\n

        {schema}

        Make sure to return an instance of the JSON, not the schema itself
        """
    r = client.chat.completions.create(model="gpt-4o", messages=messages(system), response_format=JSON_MODE)
    person(r.choices[0].message.content)


def test_an_example_object_is_followed_when_there_is_no_schema(client):
    system = 'Answer as JSON like {"answer": "...", "confidence": 0.5, "sources": ["..."]}'
    r = client.chat.completions.create(model="gpt-4o", messages=messages(system), response_format=JSON_MODE)
    answer = json.loads(r.choices[0].message.content)
    assert set(answer) == {"answer", "confidence", "sources"}
    assert isinstance(answer["answer"], str) and isinstance(answer["sources"], list)


def test_without_a_schema_or_with_a_refused_one_it_is_any_object(client):
    for system in ["Reply in JSON.", 'Schema: {"properties": {"x": {"type": "strng"}}}']:
        r = client.chat.completions.create(
            model="gpt-4o", messages=messages(system), response_format=JSON_MODE
        )
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    # a schema the request's budget refuses (n times its forced minimum): no 400 either
    huge = {
        "properties": {
            "a": {"type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 1000}}
        }
    }
    r = client.chat.completions.create(
        model="gpt-4o", messages=messages(json.dumps(huge)), response_format=JSON_MODE, n=20, max_tokens=50
    )
    assert len(r.choices) == 20
    # without JSON mode the schema is prose to the model
    r = client.chat.completions.create(model="gpt-4o", messages=messages(), max_tokens=20)
    with pytest.raises(ValueError):
        json.loads(r.choices[0].message.content or "")


def test_responses_json_object_follows_the_instructions_schema(client):
    kw = {
        "model": "gpt-4o",
        "instructions": SCHEMA_PROMPT,
        "input": ASK,
        "text": {"format": {"type": "json_object"}},
    }
    r = client.responses.create(**kw)
    person(r.output_text)
    deltas = [
        e.delta for e in client.responses.create(**kw, stream=True) if e.type == "response.output_text.delta"
    ]
    person("".join(deltas))


def test_langchain_json_mode_and_pydantic_output_parser(base_url):
    langchain_openai = pytest.importorskip("langchain_openai")
    from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    llm = langchain_openai.ChatOpenAI(
        model="gpt-4o", base_url=base_url + "/v1", api_key="test-key", max_retries=0
    )
    parser = PydanticOutputParser(pydantic_object=Person)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Extract the person.\n{format_instructions}"), ("human", "{query}")]
    ).partial(format_instructions=parser.get_format_instructions())
    structured = prompt | llm.with_structured_output(Person, method="json_mode")
    assert isinstance(structured.invoke({"query": ASK}), Person)
    chain = prompt | llm.bind(response_format=JSON_MODE) | parser
    assert isinstance(chain.invoke({"query": ASK}), Person)
    loose = JsonOutputParser(pydantic_object=Person)
    prompt = prompt.partial(format_instructions=loose.get_format_instructions())
    Person.model_validate((prompt | llm.bind(response_format=JSON_MODE) | loose).invoke({"query": ASK}))
