"""Stored chat completions (:mod:`fakeai.api.chat_store`) through the official SDK: ``store: true`` keeps
a completion (streamed ones assembled), list with filters and cursors, retrieve, update, delete, the
request's messages; nothing else is stored, the Rust hot path keeps plain chat, every worker answers
alike, the byte budget drops the oldest, and bad input is a 4xx envelope."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionDeleted

from .test_contract import conforms

pytestmark = pytest.mark.integration

HI = [{"role": "user", "content": "hi"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A server of this module's own: the lists below start empty."""
    from fakeai.runtime.process import running_server

    with running_server("--ttft", "0", "--itl", "0") as url:
        yield url


@pytest.fixture()
def sdk(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as c:
        yield c


@pytest.fixture()
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as c:
        yield c


def served(c: httpx.Client) -> int:
    found = re.search(r"^fakeai_hot_path_requests_total (\S+)$", c.get("/metrics/prometheus").text, re.M)
    return int(float(found.group(1))) if found else -1


def envelope(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_only_store_true_stores_and_leaves_the_rust_path(sdk: openai.OpenAI, http: httpx.Client) -> None:
    before = served(http)
    sdk.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=3)
    sdk.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=3, store=False)
    for chunk in sdk.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=3, stream=True):
        assert chunk.object == "chat.completion.chunk"
    assert served(http) == before + 3  # all three on the Rust hot path
    assert sdk.chat.completions.list().data == []
    stored = sdk.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=3, store=True)
    assert served(http) == before + 3  # the Python chain stored it
    assert [c.id for c in sdk.chat.completions.list(metadata={}).data][-1] == stored.id
    # bad metadata is OpenAI's 400, stored or not (test_chat_limits checks the rules), and stores nothing
    big = {f"k{i}": "v" for i in range(17)}
    for metadata in (big, {"k" * 65: "v"}, {"k": "v" * 513}):
        with pytest.raises(openai.BadRequestError) as bad:
            sdk.chat.completions.create(model="gpt-4o", messages=HI, store=True, metadata=metadata)
        assert bad.value.body["param"].startswith("metadata")  # type: ignore[index]
    assert [c.id for c in sdk.chat.completions.list().data][-1] == stored.id


def test_a_stored_completion_is_retrieved_updated_and_deleted(sdk: openai.OpenAI) -> None:
    tag = uuid.uuid4().hex
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is "},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                {"type": "text", "text": "this?"},
            ],
        },
    ]
    created = sdk.chat.completions.create(
        model="gpt-4o", messages=messages, max_tokens=5, n=3, store=True, metadata={"run": tag}
    )
    got = sdk.chat.completions.retrieve(created.id)
    assert got.model_dump(exclude={"metadata"}) == created.model_dump(exclude={"metadata"})
    assert len(got.choices) == 3 and got.metadata == {"run": tag}

    page = sdk.chat.completions.messages.list(created.id)
    assert [(m.id, m.role, m.content) for m in page.data] == [
        (f"{created.id}-0", "system", "be brief"),
        (f"{created.id}-1", "user", "what is this?"),
    ]
    assert page.data[0].content_parts is None
    parts = page.data[1].content_parts or []
    assert [p.type for p in parts] == ["text", "image_url", "text"]
    assert parts[1].image_url.url == "https://example.com/cat.png"  # type: ignore[union-attr]
    assert [m.id for m in sdk.chat.completions.messages.list(created.id, order="desc").data] == [
        f"{created.id}-1",
        f"{created.id}-0",
    ]

    updated = sdk.chat.completions.update(created.id, metadata={"run": tag, "state": "reviewed"})
    assert updated.metadata == {"run": tag, "state": "reviewed"} and updated.choices == got.choices
    assert sdk.chat.completions.retrieve(created.id).metadata == updated.metadata
    assert [c.id for c in sdk.chat.completions.list(metadata={"state": "reviewed", "run": tag})] == [
        created.id
    ]
    assert sdk.chat.completions.update(created.id, metadata=None).metadata == {}
    assert sdk.chat.completions.list(metadata={"run": tag}).data == []

    deleted = sdk.chat.completions.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "chat.completion.deleted", True)
    for call in (
        lambda: sdk.chat.completions.retrieve(created.id),
        lambda: sdk.chat.completions.delete(created.id),
        lambda: sdk.chat.completions.update(created.id, metadata={}),
        lambda: sdk.chat.completions.messages.list(created.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()


def test_streamed_completions_are_stored_assembled(sdk: openai.OpenAI) -> None:
    tag = uuid.uuid4().hex
    stream = sdk.chat.completions.create(
        model="gpt-4o",
        messages=HI,
        max_tokens=6,
        n=2,
        logprobs=True,
        stream=True,
        stream_options={"include_usage": True},
        store=True,
        metadata={"run": tag},
    )
    chunks = list(stream)
    texts = ["", ""]
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    got = sdk.chat.completions.retrieve(chunks[0].id)
    assert got.object == "chat.completion" and got.created == chunks[0].created and got.model == "gpt-4o"
    assert [c.message.content for c in got.choices] == texts and all(texts)
    assert [c.finish_reason for c in got.choices] == ["length", "length"]
    assert got.usage == chunks[-1].usage and got.metadata == {"run": tag}
    tokens = [t.token for t in got.choices[0].logprobs.content or []]  # type: ignore[union-attr]
    assert "".join(tokens) == texts[0]

    calls = sdk.chat.completions.create(
        model="gpt-4o", messages=HI, tools=[WEATHER], tool_choice="required", stream=True, store=True
    )
    chunks = list(calls)
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""  # type: ignore[index,union-attr]
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
    )
    message = sdk.chat.completions.retrieve(chunks[0].id).choices[0].message
    assert message.content is None and message.tool_calls and len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.function.arguments == arguments and call.id.startswith("call_")
    assert sdk.chat.completions.retrieve(chunks[0].id).usage.total_tokens > 0  # type: ignore[union-attr]


def test_the_list_filters_and_pages_both_ways(sdk: openai.OpenAI, http: httpx.Client) -> None:
    tag = uuid.uuid4().hex
    ids = []
    for i in range(7):
        model = "gpt-4o-mini" if i % 3 == 0 else "gpt-4o"
        ids.append(
            sdk.chat.completions.create(
                model=model, messages=HI, max_tokens=1, store=True, metadata={"run": tag, "i": str(i % 2)}
            ).id
        )
    run = {"run": tag}
    first = sdk.chat.completions.list(metadata=run, limit=3)
    assert [c.id for c in first.data] == ids[:3] and first.has_more  # ascending by default, as OpenAI's
    assert [c.id for c in first] == ids  # the SDK follows the cursor
    assert [c.id for c in sdk.chat.completions.list(metadata=run, order="desc", limit=2)] == ids[::-1]
    after = sdk.chat.completions.list(metadata=run, order="desc", after=ids[4], limit=10)
    assert [c.id for c in after.data] == ids[3::-1] and not after.has_more
    assert [c.id for c in sdk.chat.completions.list(metadata=run, model="gpt-4o-mini")] == ids[::3]
    assert [c.id for c in sdk.chat.completions.list(metadata={**run, "i": "1"})] == ids[1::2]
    assert sdk.chat.completions.list(metadata={**run, "i": "2"}).data == []
    assert sdk.chat.completions.list(metadata=run, model="gpt-3.5-turbo").data == []
    body = http.get("/v1/chat/completions", params={"metadata[run]": tag, "limit": 2}).json()
    assert body["object"] == "list" and (body["first_id"], body["last_id"], body["has_more"]) == (
        ids[0],
        ids[1],
        True,
    )
    empty = http.get("/v1/chat/completions", params={"metadata[run]": "none"}).json()
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_messages_page_both_ways(sdk: openai.OpenAI) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(25)]
    created = sdk.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=1, store=True)
    ids = [f"{created.id}-{i}" for i in range(25)]
    page = sdk.chat.completions.messages.list(created.id)
    assert [m.id for m in page.data] == ids[:20] and page.has_more  # 20 by default
    assert [m.content for m in sdk.chat.completions.messages.list(created.id, limit=7)] == [
        f"m{i}" for i in range(25)
    ]
    assert [m.id for m in sdk.chat.completions.messages.list(created.id, order="desc", limit=4)] == ids[::-1]
    tail = sdk.chat.completions.messages.list(created.id, after=ids[22], limit=5)
    assert [m.id for m in tail.data] == ids[23:] and not tail.has_more
    head = sdk.chat.completions.messages.list(created.id, after=ids[2], order="desc", limit=5)
    assert [m.id for m in head.data] == [ids[1], ids[0]] and not head.has_more


def test_bad_input_is_a_4xx_envelope(sdk: openai.OpenAI, http: httpx.Client) -> None:
    created = sdk.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=1, store=True)
    base = f"/v1/chat/completions/{created.id}"
    for path in ("/v1/chat/completions", f"{base}/messages"):
        for limit in ("0", "101", "-1", "x", "1" * 30, "²"):
            assert envelope(http.get(path, params={"limit": limit}), 400)["param"] == "limit"
        assert envelope(http.get(path, params={"order": "up"}), 400)["param"] == "order"
    assert (
        envelope(http.get("/v1/chat/completions", params={"after": "chatcmpl-nope"}), 404)["param"] == "after"
    )
    for after in ("x", f"{created.id}-1", f"{created.id}-", f"{created.id}--1", f"{created.id}-99999999999"):
        assert envelope(http.get(f"{base}/messages", params={"after": after}), 404)["param"] == "after"
    filters = {f"metadata[k{i}]": "v" for i in range(17)}
    assert envelope(http.get("/v1/chat/completions", params=filters), 400)["param"] == "metadata"
    assert envelope(http.get("/v1/chat/completions", params={"metadata[" + "k" * 65 + "]": "v"}), 400)

    for unknown in ("chatcmpl-unknown", "x" * 300, "%20"):
        for method in ("GET", "DELETE"):
            assert (
                envelope(http.request(method, f"/v1/chat/completions/{unknown}"), 404)["code"] == "not_found"
            )
        assert envelope(http.get(f"/v1/chat/completions/{unknown}/messages"), 404)
        assert envelope(http.post(f"/v1/chat/completions/{unknown}", json={"metadata": {}}), 404)

    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.update(created.id, metadata={}, extra_body={"model": "gpt-4o-mini"})
    assert bad.value.body["param"] == "model"  # type: ignore[index]
    cases = [
        ({}, "metadata"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata." + "k" * 64),
        ({"metadata": {"k": "v" * 513}}, "metadata.k"),
        ({"metadata": {}, "messages": []}, "messages"),
    ]
    for body, param in cases:
        assert envelope(http.post(base, json=body), 400)["param"] == param, body
    assert envelope(http.post(base, content=b"{nope"), 400)["code"] == "invalid_json"
    assert envelope(http.post(base, content=b"[" * 100 + b"]" * 100), 400)
    assert envelope(http.put(base, json={"metadata": {}}), 405)
    assert sdk.chat.completions.retrieve(created.id).metadata == {}  # none of it changed anything


def test_every_worker_answers_alike_and_the_budget_drops_the_oldest(start_server, tmp_path) -> None:
    """Two workers, a 100 kB budget: 60 stored completions of some 3 kB each (new connections, so both
    workers store some) keep only the newest, whichever worker is asked; the store stays in budget."""
    data = tmp_path / "data"
    flags = ("--workers", "2", "--data-dir", str(data), "--max-expiring-bytes", "100000")
    with start_server(*flags, "--ttft", "0", "--itl", "0") as url:
        ids = []
        for i in range(60):
            with httpx.Client(base_url=url) as c:
                body = {
                    "model": "gpt-4o",
                    "messages": [{"role": "user", "content": f"{i} " + "lighthouse " * 250}],
                }
                r = c.post(
                    "/v1/chat/completions",
                    json={**body, "max_tokens": 4, "store": True, "stream": i % 2 == 1},
                )
                assert r.status_code == 200
                ids.append(re.search(r'"id":"(chatcmpl-[^"]+)"', r.text).group(1))  # type: ignore[union-attr]
        views = set()
        for _ in range(6):  # new connections: both workers answer
            with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as sdk:
                listed = [c.id for c in sdk.chat.completions.list(limit=100)]
                views.add(tuple(listed))
                assert sdk.chat.completions.retrieve(ids[-1]).id == ids[-1]
                assert len(sdk.chat.completions.messages.list(ids[-2]).data) == 1
                with pytest.raises(openai.NotFoundError):
                    sdk.chat.completions.retrieve(ids[0])
        (listed,) = views
        assert 10 <= len(listed) < 60 and list(listed) == ids[-len(listed) :]
        with sqlite3.connect(data / "fakeai.db") as db:
            (kept_bytes,) = db.execute(
                "SELECT SUM(LENGTH(body)) FROM objects WHERE kind LIKE 'chat.completion%'"
            ).fetchone()
            (total,) = db.execute("SELECT bytes FROM expiring_total").fetchone()
        assert kept_bytes == total <= 100_000


@pytest.mark.parametrize(
    "extra",
    [
        {"n": 2, "logprobs": True, "top_logprobs": 2},
        {"tools": [WEATHER], "tool_choice": "required"},
        {"model": "deepseek-ai/DeepSeek-R1", "reasoning_effort": "low", "max_tokens": 30},
        {"model": "o3-mini", "reasoning_effort": "low", "max_tokens": None, "max_completion_tokens": 60},
        {
            "model": "gpt-4o-audio-preview",
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "wav"},
        },
    ],
    ids=["logprobs", "tools", "reasoning", "hidden-reasoning", "audio"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_stored_objects_conform_to_the_sdk_types(http: httpx.Client, extra: dict, stream: bool) -> None:
    body = {"model": "gpt-4o", "messages": HI, "max_tokens": 6, "store": True, "stream": stream, **extra}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    id = re.search(r'"id":"(chatcmpl-[^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    stored = http.get(f"/v1/chat/completions/{id}").json()
    conforms(ChatCompletion, stored, "CreateChatCompletionResponse")
    if not stream:
        assert stored == {**r.json(), "metadata": {}}  # exactly what the client got
    listed = http.get("/v1/chat/completions", params={"order": "desc", "limit": 1}).json()
    assert listed["data"] == [stored] and listed["first_id"] == listed["last_id"] == id
    conforms(ChatCompletionDeleted, http.delete(f"/v1/chat/completions/{id}").json())
