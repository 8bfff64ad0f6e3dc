"""``POST /v1/responses/compact`` through the official SDK (``responses.compact`` and
``beta.responses.compact``): the compacted window, sending it back as input, and refusals."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from openai.types.beta import BetaCompactedResponse, BetaResponseCompactionItem
from openai.types.responses import CompactedResponse, ResponseCompactionItem

pytestmark = pytest.mark.integration

CALL = {
    "type": "function_call",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
}
#: A multi-turn window: instructions, a tool call and its output, answers, and three user messages.
TURNS: list[dict] = [
    {"role": "developer", "content": "Answer as a meteorologist."},
    {"role": "user", "content": "My name is Ada.", "id": "msg_ada"},
    {"role": "assistant", "content": "Hello Ada. " * 40},
    {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
    CALL,
    {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 21}'},
    {"role": "assistant", "content": "It is 21 degrees in Paris, mild for the season. " * 20},
    {"role": "user", "content": "And tomorrow?"},
]
USER_TEXTS = ["My name is Ada.", "Weather in Paris?", "And tomorrow?"]


def window(compacted: CompactedResponse | BetaCompactedResponse) -> list[dict]:
    """The compacted output as plain items to send back (its user messages are typed by the SDK as
    assistant output messages, hence no warnings)."""
    return [item.to_dict(warnings=False) for item in compacted.output]


def texts(items: list[dict]) -> list[str]:
    return [i["content"][0]["text"] for i in items if i["type"] == "message"]


def test_compact_keeps_user_messages_and_one_compaction_item(client: openai.OpenAI) -> None:
    before = int(time.time())
    r = client.responses.compact(model="gpt-4o", input=TURNS)
    assert isinstance(r, CompactedResponse)
    assert r.object == "response.compaction" and r.id.startswith("resp_")
    assert isinstance(r.created_at, int) and before <= r.created_at <= time.time() + 1
    *kept, last = r.output
    assert isinstance(last, ResponseCompactionItem) and last.type == "compaction"
    assert last.id.startswith("cmp_") and last.encrypted_content
    # the user messages verbatim, in order, with the id given; everything else went into the item
    items = window(r)[:-1]
    assert [(i["type"], i["role"]) for i in items] == [("message", "user")] * 3
    assert texts(items) == USER_TEXTS and items[0]["id"] == "msg_ada"
    assert all(i["content"][0]["type"] == "input_text" for i in items)
    # usage: the whole window read (as input_tokens counts it), a summary of a quarter of it written
    u = r.usage
    assert u.input_tokens == client.responses.input_tokens.count(model="gpt-4o", input=TURNS).input_tokens
    assert 0 < u.output_tokens <= u.input_tokens // 4 and u.total_tokens == u.input_tokens + u.output_tokens
    assert u.input_tokens_details.cached_tokens >= 0 and u.output_tokens_details.reasoning_tokens == 0
    raw = client.responses.with_raw_response.compact(model="gpt-4o", input=TURNS).http_response.json()
    assert set(raw) == {"id", "object", "created_at", "output", "usage"}
    # a string input is one user message
    short = client.responses.compact(model="gpt-4o", input="hello there")
    assert texts(window(short)[:-1]) == ["hello there"] and short.output[-1].type == "compaction"
    # a reasoning model thinks before it summarises
    thought = client.responses.compact(model="o3", input=TURNS, instructions="Keep the city.")
    assert thought.usage.output_tokens_details.reasoning_tokens > 0
    assert thought.usage.output_tokens > thought.usage.output_tokens_details.reasoning_tokens


def test_compacted_window_feeds_the_next_response(client: openai.OpenAI) -> None:
    r = client.responses.compact(model="gpt-4o", input=TURNS)
    follow = [*window(r), {"role": "user", "content": "What should I wear?"}]
    nxt = client.responses.create(model="gpt-4o", input=follow)
    assert nxt.status == "completed" and nxt.output_text
    count = client.responses.input_tokens.count
    assert nxt.usage.input_tokens == count(model="gpt-4o", input=follow).input_tokens
    # the compaction item costs the summary it stands for (a message's framing aside), not the window
    without = count(model="gpt-4o", input=[*window(r)[:-1], follow[-1]]).input_tokens
    assert 0 < nxt.usage.input_tokens - without - r.usage.output_tokens <= 8
    full = count(model="gpt-4o", input=[*TURNS, follow[-1]]).input_tokens
    assert nxt.usage.input_tokens < full
    # stored as given: listed among the input items, and read again through previous_response_id
    listed = [i.type for i in client.responses.input_items.list(nxt.id, order="asc").data]
    assert listed == ["message"] * 3 + ["compaction", "message"]
    again = client.responses.create(model="gpt-4o", input="Thanks!", previous_response_id=nxt.id)
    assert again.usage.input_tokens > nxt.usage.input_tokens
    # a compacted window compacts again: its compaction item folds into the new one
    twice = client.responses.compact(model="gpt-4o", input=[*follow, *window(nxt)])
    assert [i.type for i in twice.output] == ["message"] * 4 + ["compaction"]
    assert twice.output[-1].id != r.output[-1].id
    # a conversation takes it too, and a response in that conversation reads it
    conv = client.conversations.create(items=window(r))
    assert [i.type for i in client.conversations.items.list(conv.id, order="asc").data][-1] == "compaction"
    assert client.responses.create(model="gpt-4o", input="Hi", conversation=conv.id).status == "completed"


def test_beta_compact(client: openai.OpenAI) -> None:
    r = client.beta.responses.compact(model="gpt-4o", input=TURNS)
    assert isinstance(r, BetaCompactedResponse) and r.object == "response.compaction"
    assert isinstance(r.output[-1], BetaResponseCompactionItem) and r.output[-1].id.startswith("cmp_")
    assert texts(window(r)[:-1]) == USER_TEXTS
    nxt = client.responses.create(model="gpt-4o", input=[*window(r), {"role": "user", "content": "Go on"}])
    assert nxt.status == "completed"


def test_compact_a_previous_response(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4o", input="My name is Ada.", instructions="Be brief")
    r = client.responses.compact(model="gpt-4o", previous_response_id=first.id, input="What is my name?")
    assert texts(window(r)[:-1]) == ["My name is Ada.", "What is my name?"]
    assert r.output[0].id == client.responses.input_items.list(first.id).data[0].id  # as stored
    count = client.responses.input_tokens.count(
        model="gpt-4o", previous_response_id=first.id, input="What is my name?"
    )
    assert r.usage.input_tokens == count.input_tokens
    # the previous response alone, without input
    alone = client.responses.compact(model="gpt-4o", previous_response_id=first.id)
    assert (
        texts(window(alone)[:-1]) == ["My name is Ada."] and alone.usage.input_tokens < r.usage.input_tokens
    )
    # the rest is reported as OpenAI reports it
    tiered = client.responses.compact(
        model="gpt-4o",
        input="hi",
        service_tier="auto",
        safety_identifier="user-1",
        prompt_cache_key="k",
        prompt_cache_retention="24h",
        prompt_cache_options={"mode": "explicit", "ttl": "30m"},
        image={"context_compression": "auto"},
    )
    assert tiered.service_tier == "default" and tiered.safety_identifier == "user-1"
    assert tiered.image is not None and tiered.image.context_compression == "disabled"


def test_compaction_takes_a_model_call_s_time(start_server) -> None:
    with start_server("--ttft", "200", "--itl", "0") as url, httpx.Client(base_url=url, timeout=10) as http:
        start = time.perf_counter()
        r = http.post("/v1/responses/compact", json={"model": "gpt-4o", "input": TURNS})
        assert r.status_code == 200 and time.perf_counter() - start >= 0.17  # 200 ms TTFT +-10% jitter


def test_bad_inputs(client: openai.OpenAI, http: httpx.Client) -> None:
    def error(body: dict, status: int = 400) -> dict:
        r = http.post("/v1/responses/compact", json=body)
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert set(err) == {"message", "type", "param", "code"} and err["message"]
        return err

    assert error({"input": "hi"})["param"] == "model"
    assert error({"model": None, "input": "hi"})["param"] == "model"
    assert error({"model": "m" * 513, "input": "hi"})["param"] == "model"
    assert error({"model": "gpt-4o"})["param"] == "input"  # nothing to compact
    assert error({"model": "gpt-4o", "input": []})["param"] == "input"
    assert error({"model": "gpt-4o", "input": 5})["param"] == "input"
    assert error({"model": "gpt-4o", "input": [{"role": "robot", "content": "x"}]})["param"] == (
        "input[0].role"
    )
    assert error({"model": "gpt-4o", "input": [{"role": "user", "content": 5}]})["param"] == (
        "input[0].content"
    )
    assert error({"model": "gpt-4o", "input": ["hi"]})["param"] == "input[0]"
    assert error({"model": "gpt-4o", "input": [{"type": "teleport"}]})["param"] == "input[0].type"
    assert error({"model": "gpt-4o", "input": [{"type": "function_call_output"}]})["param"] == (
        "input[0].call_id"
    )
    assert error({"model": "gpt-4o", "input": [{"role": "user", "content": "x", "id": "a/b"}]})["param"] == (
        "input[0].id"
    )
    missing = error({"model": "gpt-4o", "input": "hi", "previous_response_id": "resp_nope"}, 404)
    assert missing["param"] == "previous_response_id" and missing["code"] == "not_found"
    with pytest.raises(openai.NotFoundError):
        client.responses.compact(model="gpt-4o", previous_response_id="resp_nope")
    # a compaction item whose blob fakeai did not write, here and on POST /v1/responses
    for blob in ("abc", "", 5, None, "aGVsbG8="):
        forged = [{"type": "compaction", "encrypted_content": blob}]
        bad = error({"model": "gpt-4o", "input": forged})
        assert bad["param"] == "input[0].encrypted_content" and bad["code"] == "invalid_encrypted_content"
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o", input=[{"type": "compaction", "encrypted_content": "abc"}])
    for field, value in [
        ("service_tier", "turbo"),
        ("prompt_cache_retention", "forever"),
        ("safety_identifier", "s" * 513),
        ("prompt_cache_key", 5),
        ("instructions", 5),
    ]:
        assert error({"model": "gpt-4o", "input": "hi", field: value})["param"] == field
    assert error({"model": "gpt-4o", "input": "hi", "image": {"context_compression": "max"}})["param"] == (
        "image.context_compression"
    )
    assert error({"model": "gpt-4o", "input": "hi", "prompt_cache_options": {"ttl": "1h"}})["param"] == (
        "prompt_cache_options.ttl"
    )
    # past the model's context window, as POST /v1/responses
    too_long = error({"model": "gpt-4o", "input": "x " * 130_000})
    assert too_long["param"] == "input" and too_long["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError):
        client.responses.compact(model="gpt-4o")
    # only POST: GET is the retrieve route's, for which "compact" is an unknown id
    assert http.get("/v1/responses/compact").status_code == 404


def test_oversized_body_is_a_413(start_server) -> None:
    with start_server("--max-body-bytes", "4096") as url, httpx.Client(base_url=url, timeout=10) as http:
        body = {"model": "gpt-4o", "input": [{"role": "user", "content": "x" * 5000}]}
        r = http.post("/v1/responses/compact", json=body)
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "request_too_large"
        assert http.post("/v1/responses/compact", json={"model": "gpt-4o", "input": "hi"}).status_code == 200
