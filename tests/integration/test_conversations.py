"""``/v1/conversations`` and the Responses API's ``conversation`` through the official SDK: the objects
and pages as its types declare them, responses reading and appending items (streamed too), two workers
agreeing, the store's byte budget, and the 4xx of bad input."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx
import openai
import pydantic
import pytest
from openai.types.conversations import Conversation, ConversationDeletedResource, ConversationItem

from fakeai.store.conversations import MAX_ITEMS

pytestmark = pytest.mark.integration

ITEM = pydantic.TypeAdapter(ConversationItem)


def strict(sdk_type: Any, data: dict) -> Any:
    """``data`` (raw JSON) validated strictly as the SDK type (no lenient fallback)."""
    return pydantic.TypeAdapter(sdk_type).validate_python(data, strict=True)


def said(text: str, role: str = "user") -> dict:
    return {"type": "message", "role": role, "content": text}


def test_create_retrieve_update_delete(client: openai.OpenAI) -> None:
    raw = client.conversations.with_raw_response.create(
        items=[said("hello"), said("Be brief.", "developer")], metadata={"topic": "demo"}
    ).http_response.json()
    conv = strict(Conversation, raw)
    assert conv.id.startswith("conv_") and conv.object == "conversation" and type(raw["created_at"]) is int
    assert conv.metadata == {"topic": "demo"}
    assert client.conversations.retrieve(conv.id) == conv
    updated = client.conversations.update(conv.id, metadata={"topic": "other", "k": "v"})
    assert updated.metadata == {"topic": "other", "k": "v"} and updated.created_at == conv.created_at
    assert client.conversations.retrieve(conv.id).metadata == {"topic": "other", "k": "v"}
    assert client.conversations.update(conv.id, metadata=None).metadata == {}
    items = client.conversations.items.list(conv.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [("user", "hello"), ("developer", "Be brief.")]
    assert items[0].content[0].type == "input_text" and items[0].id.startswith("msg_")
    raw = client.conversations.with_raw_response.delete(conv.id).http_response.json()
    assert strict(ConversationDeletedResource, raw) == ConversationDeletedResource(
        id=conv.id, object="conversation.deleted", deleted=True
    )
    for call in (
        lambda: client.conversations.retrieve(conv.id),
        lambda: client.conversations.delete(conv.id),
        lambda: client.conversations.items.list(conv.id),
        lambda: client.conversations.update(conv.id, metadata={}),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    empty = client.conversations.create()
    assert empty.metadata == {} and client.conversations.items.list(empty.id).data == []


def test_items_add_list_retrieve_delete(client: openai.OpenAI, http: httpx.Client) -> None:
    conv = client.conversations.create()
    added = []
    for batch in (range(5), range(5, 10), range(10, 12)):
        page = client.conversations.items.create(
            conv.id, items=[said(f"m{i}", "assistant" if i % 2 else "user") for i in batch]
        )
        assert page.object == "list" and not page.has_more
        assert (page.first_id, page.last_id) == (page.data[0].id, page.data[-1].id)
        added += page.data
    texts = [f"m{i}" for i in range(12)]
    assert [i.content[0].text for i in added] == texts
    assert added[1].content[0].type == "output_text"  # an assistant's text is output text
    ids = [i.id for i in added]
    # Pages of 5, newest first by default, then oldest first; the SDK follows the cursor.
    first = client.conversations.items.list(conv.id, limit=5)
    assert [i.id for i in first.data] == ids[::-1][:5] and first.has_more and first.last_id == ids[-5]
    assert [i.id for i in client.conversations.items.list(conv.id, limit=5)] == ids[::-1]
    assert [i.id for i in client.conversations.items.list(conv.id, limit=5, order="asc")] == ids
    after = client.conversations.items.list(conv.id, after=ids[3], order="asc", limit=100)
    assert [i.id for i in after.data] == ids[4:] and not after.has_more
    last = client.conversations.items.list(conv.id, after=ids[2], limit=2)
    assert [i.id for i in last.data] == [ids[1], ids[0]] and not last.has_more
    raw = http.get(f"/v1/conversations/{conv.id}/items", params={"order": "asc", "limit": 100}).json()
    assert [strict(ConversationItem, i).id for i in raw["data"]] == ids
    assert client.conversations.items.retrieve(ids[4], conversation_id=conv.id) == added[4]
    assert (
        client.conversations.items.retrieve(
            ids[4], conversation_id=conv.id, include=["message.output_text.logprobs"]
        )
        == (added[4])
    )
    assert client.conversations.items.delete(ids[4], conversation_id=conv.id) == conv
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(ids[4], conversation_id=conv.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.delete(ids[4], conversation_id=conv.id)
    left = [i.id for i in client.conversations.items.list(conv.id, order="asc")]
    assert left == ids[:4] + ids[5:]
    # Items of every kind a response holds, kept as given (an id of one's own too).
    call = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}", "id": "fc_mine"}
    output = {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'}
    page = client.conversations.items.create(conv.id, items=[call, output])
    assert [i.type for i in page.data] == ["function_call", "function_call_output"]
    assert page.data[0].id == "fc_mine" and page.data[1].status == "completed"
    raw = http.get(f"/v1/conversations/{conv.id}/items/fc_mine").json()
    assert strict(ConversationItem, raw).name == "f"


def test_a_response_reads_and_appends_its_conversation(client: openai.OpenAI) -> None:
    conv = client.conversations.create(items=[said("My name is Ada and I like lighthouses.")])
    alone = client.responses.create(model="gpt-4o", input="What is my name?", store=False)
    first = client.responses.create(model="gpt-4o", input="What is my name?", conversation=conv.id)
    assert first.conversation.id == conv.id and alone.conversation is None
    assert first.usage.input_tokens > alone.usage.input_tokens  # the earlier item is in the prompt
    assert client.responses.retrieve(first.id).conversation.id == conv.id
    items = client.conversations.items.list(conv.id, order="asc").data
    assert len(items) == 3 and items[1].content[0].text == "What is my name?"
    assert items[2].id == first.output[0].id and items[2].content[0].text == first.output_text
    # Streamed, with the object form: it sees the whole exchange and appends its own.
    events = list(
        client.responses.create(model="gpt-4o", input="And then?", conversation={"id": conv.id}, stream=True)
    )
    final = events[-1].response
    assert events[0].response.conversation.id == final.conversation.id == conv.id
    assert final.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
    items = client.conversations.items.list(conv.id, order="asc").data
    assert len(items) == 5 and items[-1].content[0].text == final.output_text
    # A function call loop through the conversation alone.
    weather = {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    called = client.responses.create(
        model="gpt-4o", input="Weather in Paris?", tools=[weather], conversation=conv.id, store=False
    )
    [call] = called.output
    answer = client.responses.create(
        model="gpt-4o",
        tools=[weather],
        conversation=conv.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'}],
    )
    assert call.type == "function_call" and answer.output[0].type == "message"
    kinds = [i.type for i in client.conversations.items.list(conv.id, order="asc", limit=100)]
    assert kinds[-4:] == ["message", "function_call", "function_call_output", "message"]


def test_two_workers_agree(start_server) -> None:
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0") as url:

        def fresh() -> httpx.Client:  # a new connection each time: both workers answer some
            return httpx.Client(base_url=url, timeout=10)

        with fresh() as c:
            conv = c.post("/v1/conversations", json={"metadata": {"n": "0"}}).json()
        path = f"/v1/conversations/{conv['id']}"
        for i in range(12):
            with fresh() as c:
                if i % 3 == 0:
                    body = {"model": "gpt-4o", "input": f"turn {i}", "conversation": conv["id"]}
                    assert c.post("/v1/responses", json=body).status_code == 200
                else:
                    assert c.post(path + "/items", json={"items": [said(f"note {i}")]}).status_code == 200
                assert c.post(path, json={"metadata": {"n": str(i)}}).status_code == 200
        seen = set()
        for _ in range(8):
            with fresh() as c:
                listed = c.get(path + "/items", params={"order": "asc", "limit": 100}).json()["data"]
                seen.add((c.get(path).json()["metadata"]["n"], tuple(i["id"] for i in listed)))
        [(n, ids)] = seen
        assert n == "11" and len(ids) == 4 * 2 + 8  # four responses (input + answer), eight notes


def test_conversations_are_kept_under_the_byte_budget(start_server, tmp_path) -> None:
    data = tmp_path / "data"
    flags = ("--data-dir", str(data), "--max-expiring-bytes", "100000", "--ttft", "0", "--itl", "0")
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=10) as c:
        ids = []
        for i in range(60):
            items = [said(f"conversation {i} " + "lighthouse " * 40) for _ in range(5)]
            ids.append(c.post("/v1/conversations", json={"items": items}).json()["id"])
        assert c.get(f"/v1/conversations/{ids[0]}").status_code == 404
        assert c.get(f"/v1/conversations/{ids[-1]}/items").json()["data"]
        big = {f"k{i}": "v" * 500 for i in range(16)}
        assert c.post(f"/v1/conversations/{ids[-1]}", json={"metadata": big}).status_code == 200
        assert c.delete(f"/v1/conversations/{ids[-2]}").status_code == 200
        with sqlite3.connect(data / "fakeai.db") as db:
            (kept, left) = db.execute(
                "SELECT SUM(LENGTH(body)), COUNT(DISTINCT tag) FROM objects WHERE kind LIKE 'conversation%'"
            ).fetchone()
            (total,) = db.execute("SELECT bytes FROM expiring_total").fetchone()
            orphans = db.execute(
                "SELECT COUNT(*) FROM objects WHERE kind = 'conversation.item' AND tag = ?", (ids[-2],)
            ).fetchone()[0]
    # every byte accounted for (the metadata update and the deletion too), and under the budget
    assert kept == total <= 100_000 + 16 * 520 and left < 60 and orphans == 0


def test_bad_inputs(client: openai.OpenAI, http: httpx.Client) -> None:
    def error(method: str, path: str, body: Any = None, status: int = 400, **kw: Any) -> dict:
        r = http.request(method, path, json=body, **kw)
        assert r.status_code == status, r.text
        envelope = r.json()["error"]
        assert set(envelope) == {"message", "type", "param", "code"} and envelope["message"]
        return envelope

    conv = client.conversations.create(items=[said("hi")])
    one = f"/v1/conversations/{conv.id}"
    # unknown ids
    for method, path in [
        ("GET", "/v1/conversations/conv_nope"),
        ("POST", "/v1/conversations/conv_nope"),
        ("DELETE", "/v1/conversations/conv_nope"),
        ("GET", "/v1/conversations/conv_nope/items"),
        ("POST", "/v1/conversations/conv_nope/items"),
        ("GET", "/v1/conversations/conv_nope/items/msg_x"),
        ("DELETE", "/v1/conversations/conv_nope/items/msg_x"),
        ("GET", one + "/items/msg_nope"),
        ("DELETE", one + "/items/msg_nope"),
    ]:
        body = {"metadata": {}} if method == "POST" and path.count("/") == 3 else {"items": [said("x")]}
        assert error(method, path, body if method == "POST" else None, 404)["code"] == "not_found"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-4o", input="hi", conversation="conv_nope")
    assert error("POST", "/v1/responses", {"model": "gpt-4o", "conversation": {"id": "conv_x"}}, 404)[
        "param"
    ] == ("conversation")
    # too many items at once (OpenAI's 20), and past a conversation's MAX_ITEMS
    assert error("POST", "/v1/conversations", {"items": [said("x")] * 21})["param"] == "items"
    assert error("POST", one + "/items", {"items": [said("x")] * 21})["param"] == "items"
    assert error("POST", one + "/items", {"items": []})["param"] == "items"
    full = client.conversations.create()
    for _ in range(MAX_ITEMS // 20):
        client.conversations.items.create(full.id, items=[said("x")] * 20)
    full_path = f"/v1/conversations/{full.id}/items"
    assert error("POST", full_path, {"items": [said("x")]})["code"] == "conversation_full"
    body = {"model": "gpt-4o", "input": "hi", "conversation": full.id}
    assert error("POST", "/v1/responses", body)["code"] == "conversation_full"
    assert len(client.conversations.items.list(full.id, limit=100).data) == 100  # unchanged, still listed
    # metadata: 16 pairs, keys up to 64 characters, values up to 512, strings
    for metadata in (
        {f"k{i}": "v" for i in range(17)},
        {"k" * 65: "v"},
        {"k": "v" * 513},
        {"k": 5},
        ["k"],
        "k",
    ):
        assert error("POST", "/v1/conversations", {"metadata": metadata})["param"].startswith("metadata")
        assert error("POST", one, {"metadata": metadata})["param"].startswith("metadata")
    assert error("POST", one, {})["param"] == "metadata"  # required on update
    # conversation and previous_response_id exclude each other
    previous = client.responses.create(model="gpt-4o", input="hi")
    both = {"model": "gpt-4o", "input": "hi", "conversation": conv.id, "previous_response_id": previous.id}
    assert error("POST", "/v1/responses", both)["code"] == "mutually_exclusive_parameters"
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="gpt-4o", input="hi", conversation=conv.id, previous_response_id=previous.id
        )
    # wrong types and bad items
    for body, param in [
        ({"items": "hi"}, "items"),
        ({"items": ["hi"]}, "items[0]"),
        ({"items": [{"role": "robot", "content": "x"}]}, "items[0].role"),
        ({"items": [{"type": "teleport"}]}, "items[0].type"),
        ({"items": [{"role": "user", "content": 5}]}, "items[0].content"),
        ({"items": [{"role": "user", "content": ["x"]}]}, "items[0].content[0]"),
        ({"items": [said("x") | {"content": [{"type": "input_text", "text": 5}]}]}, "items[0].content[0]"),
        ({"items": [{"role": "user", "content": "x", "id": 5}]}, "items[0].id"),
        ({"items": [{"role": "user", "content": "x", "id": "m" * 257}]}, "items[0].id"),
        ({"items": [{"role": "user", "content": "x", "id": "a/b"}]}, "items[0].id"),  # no URL could name it
        ({"items": [{"role": "user", "content": "x", "id": ""}]}, "items[0].id"),
        ({"items": [said("x") | {"id": "msg_1"}, said("y") | {"id": "msg_1"}]}, "items[1].id"),
    ]:
        assert error("POST", "/v1/conversations", body)["param"] == param, body
        assert error("POST", one + "/items", body)["param"] == param, body
    mine = [said("x") | {"id": "msg_mine"}]
    client.conversations.items.create(conv.id, items=mine)
    assert error("POST", one + "/items", {"items": mine})["code"] == "duplicate_item"
    again = {"model": "gpt-4o", "input": mine, "conversation": conv.id}
    assert error("POST", "/v1/responses", again)["code"] == "duplicate_item"
    for conversation in (5, ["conv_x"], {"id": 5}, {}, "", "c" * 129):
        body = {"model": "gpt-4o", "input": "hi", "conversation": conversation}
        assert error("POST", "/v1/responses", body)["param"].startswith("conversation")
    for params, param in [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"order": "up"}, "order")]:
        assert error("GET", one + "/items", params=params)["param"] == param
    assert error("POST", "/v1/conversations", [1])["code"] == "invalid_type"
    assert error("PUT", one, None, 405)["code"] == "method_not_allowed"
