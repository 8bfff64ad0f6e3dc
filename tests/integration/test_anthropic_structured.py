"""Anthropic Messages: cumulative usage on ``message_delta`` (what LangChain reads a stream's usage
from) and structured outputs (``output_config.format``, the beta ``output_format``), driven by the
official ``anthropic`` SDK (``messages.parse``, streams) and httpx for the raw events and the 400s.
Each runs on the Rust hot path and on the Python route (``--no-hot-path``) alike; a request with tools
takes the Python route on both."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest
from pydantic import BaseModel, Field

from .test_hot_path import served

pytestmark = pytest.mark.integration

MODEL = "claude-sonnet-4-5"
VERSION = {"anthropic-version": "2023-06-01"}
FAST = ("--ttft", "0", "--itl", "0")
PATHS = pytest.mark.parametrize("flags", [(), ("--no-hot-path",)], ids=["rust", "python"])
USER = [{"role": "user", "content": "Tell me a joke about caches, please."}]
TOOL = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
SCHEMA = {
    "type": "object",
    "properties": {
        "setup": {"type": "string"},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["pun", "dad", "tech"]}},
    },
    "required": ["setup", "rating", "tags"],
    "additionalProperties": False,
}


class Joke(BaseModel):
    setup: str
    punchline: str = Field(min_length=3, max_length=40)
    rating: int = Field(ge=1, le=5)
    tags: list[str] = Field(min_length=1)


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=60)


def sse(text: str) -> list[tuple[str, dict]]:
    """``(event name, data)`` of each server-sent event."""
    out = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def valid(value: dict) -> None:
    assert set(value) == {"setup", "rating", "tags"}, value
    assert isinstance(value["setup"], str) and 1 <= value["rating"] <= 5
    assert all(t in ("pun", "dad", "tech") for t in value["tags"])


@PATHS
def test_message_delta_carries_the_cumulative_usage(start_server, flags):
    big = " ".join(f"rule{k}" for k in range(1500))
    system = [{"type": "text", "text": big, "cache_control": {"type": "ephemeral"}}]
    with start_server(*FAST, *flags) as url, sdk(url) as client, httpx.Client(base_url=url) as c:
        body = {"model": MODEL, "max_tokens": 10, "stream": True, "messages": USER}
        r = c.post("/v1/messages", json=body, headers=VERSION)
        events = sse(r.text)
        start = next(d for name, d in events if name == "message_start")["message"]["usage"]
        delta = next(d for name, d in events if name == "message_delta")["usage"]
        assert delta == {
            "input_tokens": start["input_tokens"],
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 10,
            "server_tool_use": None,
        }
        assert delta["input_tokens"] > 5
        # cache writes, then reads, and thinking: the delta repeats the whole split
        for _ in range(2):
            with client.messages.stream(model=MODEL, max_tokens=5, messages=USER, system=system) as s:
                usage = next(e for e in s if e.type == "message_delta").usage
                final = s.get_final_message().usage
            assert usage.input_tokens == final.input_tokens > 0
            assert usage.cache_creation_input_tokens == final.cache_creation_input_tokens
            assert usage.cache_read_input_tokens == final.cache_read_input_tokens
            assert usage.output_tokens == final.output_tokens == 5
        assert final.cache_read_input_tokens > 1500  # the second stream read what the first wrote
        thinking = {"type": "enabled", "budget_tokens": 1024}
        with client.messages.stream(model=MODEL, max_tokens=2000, messages=USER, thinking=thinking) as s:
            usage = next(e for e in s if e.type == "message_delta").usage
        assert usage.input_tokens > 5 and usage.output_tokens_details.thinking_tokens > 0
        # the Python route (tools) too
        with client.messages.stream(model=MODEL, max_tokens=50, messages=USER, tools=[TOOL]) as s:  # type: ignore[list-item]
            usage = next(e for e in s if e.type == "message_delta").usage
            assert usage.input_tokens == s.get_final_message().usage.input_tokens > 20


@PATHS
def test_structured_outputs_are_json_valid_against_the_schema(start_server, flags):
    with start_server(*FAST, *flags) as url, sdk(url) as client, httpx.Client(base_url=url) as c:
        before = served(c)
        config = {"format": {"type": "json_schema", "schema": SCHEMA}}
        for seed in range(5):
            m = client.messages.create(
                model=MODEL,
                max_tokens=400,
                messages=[{"role": "user", "content": f"joke {seed}"}],
                output_config=config,  # type: ignore[typeddict-item]
            )
            assert [b.type for b in m.content] == ["text"] and m.stop_reason == "end_turn"
            valid(json.loads(m.content[0].text))  # type: ignore[union-attr]
        # streamed: text deltas that join into the JSON
        body = {"model": MODEL, "max_tokens": 400, "stream": True, "messages": USER, "output_config": config}
        events = sse(c.post("/v1/messages", json=body, headers=VERSION).text)
        deltas = [d["delta"] for name, d in events if name == "content_block_delta"]
        assert len(deltas) > 5 and all(d["type"] == "text_delta" for d in deltas)
        joined = "".join(d["text"] for d in deltas)
        valid(json.loads(joined))
        usage = next(d for name, d in events if name == "message_delta")["usage"]
        assert usage["output_tokens"] == len(deltas)
        # the beta spelling, with its header
        beta = {**body, "stream": False, "output_format": config["format"]}
        del beta["output_config"]
        headers = {**VERSION, "anthropic-beta": "structured-outputs-2025-11-13"}
        valid(json.loads(c.post("/v1/messages", json=beta, headers=headers).json()["content"][0]["text"]))
        # cut by max_tokens: stop_reason max_tokens, the JSON's first tokens
        cut = client.messages.create(model=MODEL, max_tokens=3, messages=USER, output_config=config)  # type: ignore[typeddict-item]
        assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 3
        assert cut.content[0].text.startswith('{"')  # type: ignore[union-attr]
        assert served(c) == (before if flags else before + 8)


@PATHS
def test_sdk_parse_and_langchain_style_schemas(start_server, flags):
    with start_server(*FAST, *flags) as url, sdk(url) as client:
        for k in range(5):
            # messages.parse sends output_config.format, the constraints moved into descriptions
            parsed = client.messages.parse(
                model=MODEL,
                max_tokens=500,
                messages=[{"role": "user", "content": f"j{k}"}],
                output_format=Joke,
            ).parsed_output
            assert isinstance(parsed, Joke) and 1 <= parsed.rating <= 5 and 3 <= len(parsed.punchline) <= 40
        beta = client.beta.messages.parse(
            model=MODEL,
            max_tokens=500,
            messages=USER,
            output_format=Joke,
            betas=["structured-outputs-2025-11-13"],
        )
        assert isinstance(beta.parsed_output, Joke)
        with client.messages.stream(model=MODEL, max_tokens=500, messages=USER, output_format=Joke) as s:
            for _ in s:
                pass
            assert isinstance(s.get_final_message().parsed_output, Joke)
        # what LangChain's with_structured_output(method="json_schema") sends: the raw pydantic schema
        raw = client.messages.create(
            model=MODEL,
            max_tokens=500,
            messages=USER,
            output_config={"format": {"type": "json_schema", "schema": Joke.model_json_schema()}},
        )
        Joke.model_validate_json(raw.content[0].text)  # type: ignore[union-attr]
        # with tools (the Python route) and tool_choice none: the text answer is the JSON
        tooled = client.messages.create(
            model=MODEL,
            max_tokens=500,
            messages=USER,
            tools=[{**TOOL, "strict": True}],  # type: ignore[list-item]
            tool_choice={"type": "none"},
            output_config={"format": {"type": "json_schema", "schema": SCHEMA}},
        )
        valid(json.loads(tooled.content[0].text))  # type: ignore[union-attr]


@PATHS
def test_schemas_it_cannot_honour_are_400s_naming_the_field(start_server, flags):
    bad_pattern = {"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}
    cases = [
        (
            {"output_config": {"format": {"type": "json_schema", "schema": bad_pattern}}},
            "output_config.format.schema",
        ),
        (
            {"output_format": {"type": "json_schema", "schema": {"type": "object", "required": 3}}},
            "output_format.schema",
        ),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": [1]}}},
            "output_config.format.schema",
        ),
        (
            {
                "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
                "output_format": {"type": "json_schema", "schema": SCHEMA},
            },
            "output_format",
        ),
        ({"output_config": {"format": {"type": "xml", "schema": SCHEMA}}}, "output_config.format.type"),
    ]
    with start_server(*FAST, *flags) as url, httpx.Client(base_url=url, headers=VERSION) as c:
        for extra, param in cases:
            for tools in ({}, {"tools": [TOOL]}):
                body = {"model": MODEL, "max_tokens": 50, "messages": USER, **extra, **tools}
                r = c.post("/v1/messages", json=body)
                assert r.status_code == 400, (extra, r.text)
                error = r.json()["error"]
                assert error["type"] == "invalid_request_error"
                assert error["message"].startswith(param) or f"'{param}'" in error["message"], error
