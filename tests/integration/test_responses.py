"""``/v1/responses`` through the official SDK: text, items, conversations, tools, typed stream events."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import openai
import pydantic
import pytest
from openai.types.responses import ResponseItem, ResponseReasoningItem, ResponseStreamEvent

pytestmark = pytest.mark.integration

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}
STREAM_EVENT = pydantic.TypeAdapter(ResponseStreamEvent)


class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str]
    unit: str | None


def typed(events: list) -> list:
    """The events, each validated against the SDK's union of stream events (no untyped fallback)."""
    for e in events:
        assert isinstance(e, type(STREAM_EVENT.validate_python(e.to_dict(warnings=False)))), e.type
    return events


def test_text_in_text_out_stored_and_deleted(client: openai.OpenAI) -> None:
    r = client.responses.create(
        model="gpt-4o", input="Tell me a story", instructions="Be brief", max_output_tokens=30
    )
    assert r.object == "response" and r.id.startswith("resp_") and r.status in ("completed", "incomplete")
    assert r.output_text and r.output[0].type == "message" and r.output[0].role == "assistant"
    assert (
        r.usage.output_tokens <= 30 and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    )
    assert r.instructions == "Be brief" and r.model == "gpt-4o"
    assert client.responses.retrieve(r.id).output_text == r.output_text
    items = client.responses.input_items.list(r.id)
    assert [(i.type, i.role, i.content[0].text) for i in items.data] == [
        ("message", "user", "Tell me a story")
    ]
    client.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)


def test_previous_response_id_continues_the_conversation(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input=[{"role": "user", "content": "My name is Ada."}])
    second = client.responses.create(model="gpt-4o", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    # The second prompt holds the first exchange: more input tokens than the first prompt and answer.
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
    unstored = client.responses.create(model="gpt-4o", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_stream_events_as_the_sdk_parses_them(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(model="gpt-4o", input="Stream please", stream=True, max_output_tokens=40)
    )
    kinds = [e.type for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    final = "response.incomplete" if events[-1].response.status == "incomplete" else "response.completed"
    assert kinds[-1] == final and kinds[-2] == "response.output_item.done"
    assert kinds[-3] == "response.content_part.done" and kinds[-4] == "response.output_text.done"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == events[-4].text == events[-1].response.output_text
    assert events[0].response.status == "in_progress" and events[-1].response.status in (
        "completed",
        "incomplete",
    )
    assert client.responses.retrieve(events[-1].response.id).output_text == text


def test_a_capped_answer_ends_incomplete_and_timestamps_are_integers(client: openai.OpenAI) -> None:
    for cap in (16, None):  # natural answers are longer than 16 tokens, and end by themselves
        events = list(
            client.responses.create(
                model="gpt-4o", input="Tell me a story", max_output_tokens=cap or openai.omit, stream=True
            )
        )
        final = events[-1].response
        stored = client.responses.with_raw_response.retrieve(final.id).http_response.json()
        assert type(stored["created_at"]) is int
        assert type(stored["completed_at"]) is (int if cap is None else type(None))
        details = final.usage.input_tokens_details
        assert {"cached_tokens", "cache_write_tokens"} <= details.model_fields_set
        assert details.cache_write_tokens == 0
        assert not any(e.type in ("response.completed", "response.incomplete") for e in events[:-1])
        message = final.output[0]
        if cap is not None:
            assert events[-1].type == "response.incomplete" and final.status == "incomplete"
            assert final.incomplete_details.reason == "max_output_tokens" and final.usage.output_tokens == 16
            assert final.completed_at is None and message.status == "incomplete"
        else:
            assert events[-1].type == "response.completed" and final.status == "completed"
            assert final.completed_at >= final.created_at and final.incomplete_details is None
            assert message.status == "completed"


def test_stream_is_paced(start_server) -> None:
    with start_server("--ttft", "200", "--itl", "0") as url:
        start = time.perf_counter()
        with httpx.stream(
            "POST", url + "/v1/responses", json={"model": "gpt-4o", "input": "hi", "stream": True}
        ) as r:
            lines = [line for line in r.iter_lines() if line.startswith("event:")]
        assert time.perf_counter() - start >= 0.17  # 200 ms TTFT within +-10% jitter
        assert lines[0] == "event: response.created" and lines[-1] == "event: response.completed"


def test_function_calling_loop(client: openai.OpenAI) -> None:
    r = client.responses.create(model="gpt-4o", input="Weather in Paris?", tools=[WEATHER])
    [call] = r.output
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id
    args = json.loads(call.arguments)
    assert isinstance(args["city"], str) and args["unit"] in ("c", "f")
    answer = client.responses.create(
        model="gpt-4o",
        previous_response_id=r.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'}],
    )
    assert answer.output[0].type == "message" and answer.output_text
    forced = client.responses.create(
        model="gpt-4o",
        input="hello",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
    )
    assert forced.output[0].type == "function_call"
    assert client.responses.create(
        model="gpt-4o", input="hi", tools=[WEATHER], tool_choice="none"
    ).output_text
    events = list(client.responses.create(model="gpt-4o", input="Weather?", tools=[WEATHER], stream=True))
    kinds = [e.type for e in events]
    assert (
        "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    )
    # the call's tokens are the output, and max_output_tokens cuts its arguments (they were uncounted:
    # output_tokens 16 beside any length of arguments)
    whole = client.responses.create(model="gpt-4o", input="Weather in Paris?", tools=[WEATHER])
    assert whole.status == "completed" and whole.usage.output_tokens > 16
    cut = client.responses.create(
        model="gpt-4o", input="Weather in Paris?", tools=[WEATHER], max_output_tokens=16
    )
    [short], [full] = cut.output, whole.output
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"
    assert (
        short.status == "incomplete"
        and full.arguments.startswith(short.arguments)
        and short.arguments != full.arguments
    )
    assert cut.usage.output_tokens == 16
    streamed = list(
        client.responses.create(
            model="gpt-4o",
            input="Weather in Paris?",
            tools=[WEATHER],
            max_output_tokens=16,
            stream=True,
        )
    )
    assert streamed[-1].type == "response.incomplete"


def test_file_search_cites_the_matching_file(client: openai.OpenAI) -> None:
    docs = {
        "rust.txt": "The borrow checker gives Rust memory safety.",
        "bread.txt": "Sourdough bread needs a starter.",
    }
    ids = {n: client.files.create(file=(n, t.encode()), purpose="assistants").id for n, t in docs.items()}
    vs = client.vector_stores.create(name="kb", file_ids=list(ids.values()))
    deadline = time.monotonic() + 20
    while client.vector_stores.retrieve(vs.id).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tool = {"type": "file_search", "vector_store_ids": [vs.id]}
    r = client.responses.create(
        model="gpt-4o",
        input="How do I make sourdough bread?",
        tools=[tool],
        include=["file_search_call.results"],
    )
    search, message = r.output
    assert search.type == "file_search_call" and search.queries == ["How do I make sourdough bread?"]
    assert search.results[0].file_id == ids["bread.txt"] and search.results[0].text == docs["bread.txt"]
    citation = message.content[0].annotations[0]
    assert citation.type == "file_citation" and citation.file_id == ids["bread.txt"]
    assert citation.filename == "bread.txt"


def test_text_format_gives_what_parse_reads(client: openai.OpenAI) -> None:
    r = client.responses.parse(model="gpt-4o", input="who", text_format=Person)
    assert isinstance(r.output_parsed, Person)
    assert r.text.format.type == "json_schema" and r.text.format.name == "Person" and r.text.format.strict
    reasoning = {"effort": "minimal", "summary": "concise"}
    with client.responses.stream(
        model="o3-mini", input="who", text_format=Person, reasoning=reasoning
    ) as stream:
        events = typed(list(stream))
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, Person) and final.output[0].type == "reasoning"
    assert len(final.output[0].summary) == 1  # concise
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert Person.model_validate_json(deltas) == final.output_parsed
    obj = client.responses.create(model="gpt-4o", input="who", text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(obj.output_text), dict) and obj.text.format.type == "json_object"
    prose = client.responses.create(model="gpt-4o", input="who", text={"format": {"type": "text"}})
    assert prose.output_text.count(" ") > 3 and not prose.output_text.startswith("{")


def test_reasoning_effort_scales_reasoning_tokens(client: openai.OpenAI) -> None:
    def tokens(model: str, effort: str) -> list[int]:
        return [
            client.responses.create(
                model=model,
                input="How many primes are below 100?",
                reasoning={"effort": effort},
                extra_body={"seed": s},
            ).usage.output_tokens_details.reasoning_tokens
            for s in range(3)
        ]

    minimal, high = tokens("o3-mini", "minimal"), tokens("o3-mini", "high")
    assert all(8 <= t <= 32 for t in minimal) and all(512 <= t <= 2048 for t in high)  # chat's ranges
    assert tokens("gpt-4o", "high") == [0, 0, 0]  # accepted, and no reasoning
    assert tokens("gpt-5.1", "none") == [0, 0, 0]  # GPT-5.1's "none": no reasoning item either
    off = client.responses.create(model="gpt-5.1", input="hi", reasoning={"effort": "none"})
    assert [o.type for o in off.output] == ["message"] and off.reasoning.effort == "none"
    assert all(2048 <= t <= 8192 for t in tokens("o3-mini", "xhigh"))


def test_reasoning_item_and_summary(client: openai.OpenAI) -> None:
    plain = client.responses.create(model="o3-mini", input="hi", reasoning={"effort": "low"})
    thought, message = plain.output
    assert isinstance(thought, ResponseReasoningItem) and thought.id.startswith("rs_")
    assert thought.summary == [] and message.type == "message" and plain.reasoning.effort == "low"
    assert all(o.type == "message" for o in client.responses.create(model="gpt-4o", input="hi").output)
    summarized = client.responses.create(
        model="deepseek-ai/DeepSeek-R1", input="hi", reasoning={"effort": "minimal", "summary": "auto"}
    )
    [part] = summarized.output[0].summary
    assert part.type == "summary_text" and part.text and summarized.reasoning.summary == "auto"
    # The output goes back as input, as a client that keeps its own context sends it.
    again = [*(o.model_dump() for o in summarized.output), {"role": "user", "content": "and?"}]
    assert client.responses.create(model="deepseek-ai/DeepSeek-R1", input=again, store=False).output_text

    events = typed(
        list(
            client.responses.create(
                model="o4-mini",
                input="hi",
                reasoning={"effort": "low", "summary": "detailed"},
                stream=True,
                text={"format": {"type": "json_object"}},
            )
        )
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    item, message = final.output
    kinds = [(e.type, getattr(e, "output_index", None)) for e in events]
    assert kinds[2] == ("response.output_item.added", 0) and events[2].item.summary == []
    assert kinds[3] == ("response.reasoning_summary_part.added", 0)
    assert ("response.output_item.done", 0) in kinds and ("response.output_item.added", 1) in kinds
    assert kinds.index(("response.output_item.done", 0)) < kinds.index(("response.output_item.added", 1))
    texts = [e for e in events if e.type == "response.reasoning_summary_text.done"]
    assert [(e.summary_index, e.text, e.item_id) for e in texts] == [
        (i, p.text, item.id) for i, p in enumerate(item.summary)
    ]
    assert len(item.summary) > 1 and all(e.output_index == 1 for e in events if "output_text" in e.type)
    assert "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta") == "".join(
        p.text for p in item.summary
    )
    assert isinstance(json.loads(message.content[0].text), dict)
    assert final.usage.output_tokens_details.reasoning_tokens > 0


def test_bad_inputs(client: openai.OpenAI, http: httpx.Client) -> None:
    def error(body: dict, status: int = 400) -> dict:
        r = http.post("/v1/responses", json=body)
        assert r.status_code == status, r.text
        return r.json()["error"]

    assert error({"input": "hi"})["param"] == "model"
    assert error({"model": "gpt-4o", "input": "hi", "previous_response_id": "resp_nope"}, 404)["param"] == (
        "previous_response_id"
    )
    assert error({"model": "gpt-4o", "input": "hi", "tools": [{"type": "teleport"}]})["param"] == "tools"
    assert (
        error({"model": "gpt-4o", "input": [{"role": "robot", "content": "x"}]})["param"] == "input[0].role"
    )
    assert error({"model": "gpt-4o", "input": []})["param"] == "input"
    assert error({"model": "gpt-4o", "input": "hi", "max_output_tokens": 5})["param"] == "max_output_tokens"
    fs = {"type": "file_search", "vector_store_ids": ["vs_nope"]}
    assert error({"model": "gpt-4o", "input": "hi", "tools": [fs]})["param"] == "tools"
    # malformed file_search tools answered 500 before
    for ids in (5, [[]], "vs_x", [], ["vs"] * 17, [7]):
        tool = {"type": "file_search", "vector_store_ids": ids}
        assert error({"model": "gpt-4o", "input": "hi", "tools": [tool]})["param"] == "tools.vector_store_ids"
    for most in ("x", 1e9, [1], 2.5, 0, 51, True):
        tool = {**fs, "max_num_results": most}
        assert error({"model": "gpt-4o", "input": "hi", "tools": [tool]})["param"] == "tools.max_num_results"
    assert error({"model": "gpt-4o", "input": "hi", "tool_choice": "x"})["param"] == "tool_choice"
    for items in (
        [{"type": "reasoning", "id": "rs_1", "summary": []}],
        [{"type": "file_search_call", "id": "fs_1"}],
    ):
        assert error({"model": "gpt-4o", "input": items})["param"] == "input"  # nothing to answer: was a 500
    assert error({"model": "m" * 513, "input": "hi"})["param"] == "model"
    assert error({"model": "o3", "input": "hi", "reasoning": {"effort": "extreme"}})["param"] == (
        "reasoning.effort"
    )
    assert error({"model": "o3", "input": "hi", "reasoning": {"summary": 5}})["param"] == "reasoning.summary"
    schema = {"type": "object", "properties": {"n": {"type": 1}}}
    bad = error(
        {
            "model": "gpt-4o",
            "input": "hi",
            "text": {"format": {"type": "json_schema", "name": "x", "schema": schema}},
        }
    )
    chat = http.post(
        "/v1/chat/completions",
        json={
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        },
    ).json()["error"]
    assert bad == {**chat, "param": "text.format.schema"} and bad["code"] == "invalid_json_schema"
    no_name = {"type": "json_schema", "schema": {"type": "object"}}
    assert (
        error({"model": "gpt-4o", "input": "hi", "text": {"format": no_name}})["param"] == "text.format.name"
    )
    assert error({"model": "gpt-4o", "input": "hi", "text": {"format": {"type": "yaml"}}})["param"] == (
        "text.format.type"
    )
    for method, path in [
        ("GET", "/v1/responses/resp_nope"),
        ("DELETE", "/v1/responses/resp_nope"),
        ("GET", "/v1/responses/resp_nope/input_items"),
    ]:
        assert http.request(method, path).status_code == 404


def test_responses_in_a_batch(client: openai.OpenAI) -> None:
    rows = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/responses",
            "body": {"model": "gpt-4o", "input": f"q{i}", "max_output_tokens": 20},
        }
        for i in range(3)
    ]
    body = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    file = client.files.create(file=("r.jsonl", body), purpose="batch")
    batch = client.batches.create(input_file_id=file.id, endpoint="/v1/responses", completion_window="24h")
    deadline = time.monotonic() + 30
    while (batch := client.batches.retrieve(batch.id)).status not in ("completed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert batch.status == "completed" and batch.request_counts.completed == 3
    lines = [json.loads(x) for x in client.files.content(batch.output_file_id).read().splitlines()]
    assert all(x["response"]["body"]["object"] == "response" for x in lines)


def test_stored_responses_are_kept_under_a_byte_budget(start_server, tmp_path) -> None:
    """With --max-expiring-bytes of 200 kB and two workers, 300 stored responses (some 5 kB each)
    keep only the newest: what the store holds stays under the budget, an old id is a 404, a recent one
    continues its conversation, and files are untouched."""
    data = tmp_path / "data"
    flags = ("--workers", "2", "--data-dir", str(data), "--max-expiring-bytes", "200000", "--ttft", "0")
    with start_server(*flags, "--itl", "0") as url:
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        file = sdk.files.create(file=("a.txt", b"keep me"), purpose="assistants")
        ids = []
        for i in range(300):
            with httpx.Client(base_url=url) as c:  # new connections: both workers store some
                body = {"model": "gpt-4o", "input": f"story {i} " + "about a lighthouse " * 100}
                ids.append(c.post("/v1/responses", json={**body, "max_output_tokens": 64}).json()["id"])
        with pytest.raises(openai.NotFoundError):
            sdk.responses.retrieve(ids[0])
        assert sdk.responses.retrieve(ids[-1]).id == ids[-1]
        follow = sdk.responses.create(model="gpt-4o", input="and then?", previous_response_id=ids[-1])
        assert follow.status == "completed"
        kept = sum(1 for i in ids[-60:] if httpx.get(f"{url}/v1/responses/{i}").status_code == 200)
        assert 10 <= kept <= 60
        assert sdk.files.content(file.id).read() == b"keep me"
        with sqlite3.connect(data / "fakeai.db") as db:
            (kept_bytes, count) = db.execute(
                "SELECT SUM(LENGTH(body)), COUNT(*) FROM objects WHERE kind LIKE 'response%'"
            ).fetchone()
            (total,) = db.execute("SELECT bytes FROM expiring_total").fetchone()
    assert kept_bytes == total <= 200_000 and count < 2 * 60  # what 300 would take: some 3 MB


def test_input_tokens_count_what_a_response_reports(client: openai.OpenAI, http: httpx.Client) -> None:
    conv = client.conversations.create(items=[{"role": "user", "content": "My name is Ada."}])
    first = client.responses.create(model="gpt-4o", input="I like lighthouses.")
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "a b c"}]},
        {"role": "assistant", "content": "d e"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call_output", "call_id": "c1", "output": '{"temp": 3}'},
    ]
    for body in (
        {"input": "Tell me a story"},
        {"input": "Tell me a story", "instructions": "Be brief"},
        {"input": items, "tools": [WEATHER]},
        {"input": "Weather in Paris?", "tools": [WEATHER], "tool_choice": "required"},
        {"input": "and then?", "previous_response_id": first.id},
        {"input": "What is my name?", "conversation": conv.id},
        {"input": "again", "conversation": {"id": conv.id}, "instructions": "Be brief"},
        {"model": "o3-mini", "input": "hi", "reasoning": {"effort": "low"}},
        {"input": "who", "text": {"format": {"type": "json_object"}}},
    ):
        body = {"model": "gpt-4o", **body}
        counted = client.responses.input_tokens.count(**body)
        assert counted.object == "response.input_tokens"
        created = client.responses.create(**body, store=False)  # appends to the conversation
        assert counted.input_tokens == created.usage.input_tokens, body
    # counting generates and stores nothing: the conversation holds what it held
    held = [i.id for i in client.conversations.items.list(conv.id, limit=100)]
    raw = http.post("/v1/responses/input_tokens", json={"input": "x", "conversation": conv.id}).json()
    assert set(raw) == {"object", "input_tokens"} and raw["input_tokens"] > 0  # no model: counted alike
    assert [i.id for i in client.conversations.items.list(conv.id, limit=100)] == held


def test_tool_definitions_are_input_and_count_against_the_context_window(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    plain = client.responses.create(model="gpt-4o", input="hi", max_output_tokens=16, store=False)
    described = {**WEATHER, "description": "Weather in a city, " * 40}
    tooled = client.responses.create(
        model="gpt-4o", input="hi", tools=[described], tool_choice="none", max_output_tokens=16, store=False
    )
    # the definition's tokens are input, as chat counts them (and as OpenAI bills them)
    assert tooled.usage.input_tokens > plain.usage.input_tokens + 150
    assert tooled.output[0].type == "message"  # tool_choice none: no call
    # a definition past the context window is refused at once, in the Responses API's words, before
    # anything is generated (it used to be answered, writing arguments for every property)
    wide = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(30_000)}}
    started = time.monotonic()
    r = http.post(
        "/v1/responses",
        json={
            "model": "gpt-4o",
            "input": "hi",
            "tools": [{"type": "function", "name": "f", "parameters": wide}],
        },
    )
    assert r.status_code == 400 and time.monotonic() - started < 10
    assert r.json()["error"] == {
        "message": "Your input exceeds the context window of this model. Please adjust your input and try again.",
        "type": "invalid_request_error",
        "param": "input",
        "code": "context_length_exceeded",
    }
    # a function's definition is checked as chat checks it, and named by its place among all tools
    bad = {"type": "function", "name": "no spaces", "parameters": {"type": "object"}}
    r = http.post(
        "/v1/responses", json={"model": "gpt-4o", "input": "hi", "tools": [{"type": "web_search"}, bad]}
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "tools[1].name"


def test_input_tokens_bad_inputs(client: openai.OpenAI, http: httpx.Client) -> None:
    def error(body: dict, status: int = 400) -> dict:
        r = http.post("/v1/responses/input_tokens", json=body)
        assert r.status_code == status, r.text
        return r.json()["error"]

    assert error({"input": "hi", "conversation": "conv_nope"}, 404)["param"] == "conversation"
    assert error({"input": "hi", "previous_response_id": "resp_nope"}, 404)["param"] == "previous_response_id"
    conv = client.conversations.create()
    both = {"input": "hi", "conversation": conv.id, "previous_response_id": "resp_x"}
    assert error(both)["code"] == "mutually_exclusive_parameters"
    assert error({"input": []})["param"] == "input"
    assert error({"input": 5})["param"] == "input"
    assert error({"model": 5, "input": "hi"})["param"] == "model"
    assert error({"input": "hi", "tools": [{"type": "teleport"}]})["param"] == "tools"
    assert error({"input": [{"role": "robot", "content": "x"}]})["param"] == "input[0].role"
    text = [{"role": "user", "content": [{"type": "input_text", "text": 5}]}]  # answered 500 before
    assert error({"input": text})["param"] == "input[0].content[0]"
    assert http.post("/v1/responses", json={"model": "gpt-4o", "input": text}).status_code == 400
    named = {"type": "function", "name": "nope"}
    assert error({"input": "hi", "tools": [WEATHER], "tool_choice": named})["param"] == "tool_choice"
    # a JSON object where a name belongs is named by its kind, not printed as a Python dict
    named = {"type": "function", "name": {"a": 1}}
    unknown = error({"input": "hi", "tools": [WEATHER], "tool_choice": named})["message"]
    assert unknown == "tool_choice names an unknown function: an object."
    assert error({"input": "hi", "tools": [{"type": [1]}]})["message"] == "Unsupported tool type: an array."
    assert error({"input": [{"type": {"a": 1}}]})["message"] == "Unsupported input item type: an object."
    with pytest.raises(openai.NotFoundError):
        client.responses.input_tokens.count(model="gpt-4o", input="hi", conversation="conv_nope")


def test_items_sent_back_are_checked_and_stored_with_their_types_fields(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    """A wrongly typed field of a function call, its output, a reasoning or file-search item is a 400
    naming it; a field its type does not have is dropped, so the items listed back parse as the SDK's."""
    call = {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"}
    for field, value in [("arguments", 5), ("name", {"a": 1}), ("status", "bogus"), ("call_id", None)]:
        r = http.post("/v1/responses", json={"model": "gpt-4o", "input": [{**call, field: value}]})
        assert r.status_code == 400 and r.json()["error"]["param"] == f"input[0].{field}", r.text
    output = {"type": "function_call_output", "call_id": "c1", "output": "sunny", "created_by": 123}
    bad = http.post("/v1/responses", json={"model": "gpt-4o", "input": [{**output, "output": 7}]})
    assert bad.json()["error"]["param"] == "input[0].output"
    summary = http.post(
        "/v1/responses", json={"model": "gpt-4o", "input": [{"type": "reasoning", "summary": 5}]}
    )
    assert summary.json()["error"]["param"] == "input[0].summary"
    r = client.responses.create(model="gpt-4o", input=[{**call, "extra": {"x": 1}}, output])  # type: ignore[list-item]
    raw = http.get(f"/v1/responses/{r.id}/input_items", params={"order": "asc"}).json()["data"]
    assert [sorted(i) for i in raw] == [
        ["arguments", "call_id", "id", "name", "status", "type"],
        ["call_id", "id", "output", "status", "type"],
    ]
    assert [i.type for i in client.responses.input_items.list(r.id, order="asc")] == [
        "function_call",
        "function_call_output",
    ]
    # inside a hosted tool's fields and a tool output's parts too: a wrong type or field is a 400 naming it
    web = {"type": "web_search_call", "id": "ws_1", "status": "completed"}
    code = {
        "type": "code_interpreter_call",
        "id": "ci_1",
        "status": "completed",
        "code": "x",
        "container_id": "c",
    }
    custom = {"type": "custom_tool_call_output", "call_id": "c1"}
    for item, param in [
        ({**web, "action": {"type": "zzz"}}, "action.type"),
        ({**web, "action": {"type": "search", "query": "q", "sources": [1]}}, "action.sources[0]"),
        (
            {**web, "action": {"type": "search", "sources": [{"type": "url", "url": 5}]}},
            "action.sources[0].url",
        ),
        ({**web, "action": {"type": "search", "queries": [1]}}, "action.queries"),
        ({**web, "action": {"type": "find_in_page", "url": "u"}}, "action.pattern"),
        ({**code, "outputs": [{"type": "zzz"}]}, "outputs[0].type"),
        ({**code, "outputs": [{"type": "logs", "logs": "a"}, {"type": "image", "url": 5}]}, "outputs[1].url"),
        ({**custom, "output": [{"type": "input_image"}]}, "output[0].detail"),
        ({**custom, "output": [{"type": "input_text", "text": "a"}, {"type": "zzz"}]}, "output[1].type"),
        ({**output, "output": [{"type": "input_text", "text": 3}]}, "output[0].text"),
    ]:
        r = http.post(
            "/v1/responses", json={"model": "gpt-4o", "input": [{"role": "user", "content": "hi"}, item]}
        )
        assert r.status_code == 400 and r.json()["error"]["param"] == f"input[1].{param}", (item, r.text)
    good = [
        {**web, "action": {"type": "search", "query": "q", "sources": [{"type": "url", "url": "u"}]}},
        {**web, "id": "ws_2", "action": {"type": "find_in_page", "pattern": "p", "url": "u"}},
        {**code, "outputs": [{"type": "logs", "logs": "a"}, {"type": "image", "url": "data:,"}]},
        {**custom, "output": [{"type": "input_image", "detail": "auto", "image_url": "data:,"}]},
        {
            **output,
            "output": [
                {"type": "input_image", "image_url": "data:,"},
                {"type": "input_file", "file_id": "f"},
            ],
        },
    ]
    r = client.responses.create(model="gpt-4o", input=good)  # type: ignore[arg-type]
    raw = http.get(f"/v1/responses/{r.id}/input_items", params={"order": "asc"}).json()["data"]
    items = pydantic.TypeAdapter(list[ResponseItem]).validate_python(raw)  # strictly the SDK's types
    assert [i.type for i in items] == [i["type"] for i in good]
