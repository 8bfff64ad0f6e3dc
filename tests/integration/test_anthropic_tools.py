"""Anthropic-defined tools on ``POST /v1/messages`` (:mod:`fakeai.schemas.anthropic_tools`,
:mod:`fakeai.engine.anthropic_tools`), driven by the official ``anthropic`` SDK and checked with its
pydantic types strictly: client tools (bash, text editor, computer, memory) answer a ``tool_use`` their
client can run; server tools (web search, web fetch, code execution, tool search) answer their call,
its result and the text in one message, streamed with the SDK's event types; every versioned type the
SDK lists is accepted; bad tool entries are 400s in Anthropic's envelope. Requests with tools take the
Python route (the Rust hot path hands them over), so each runs on a default server, and a few again
with ``--no-hot-path`` to see both answer alike."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import anthropic
import httpx
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

pytestmark = pytest.mark.integration

MODEL = "claude-sonnet-4-5"
V = {"anthropic-version": "2023-06-01"}
ASK = [{"role": "user", "content": "Please look into this for me."}]
EVENT = TypeAdapter(RawMessageStreamEvent)

BASH = {"type": "bash_20250124", "name": "bash"}
EDITOR = {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}
COMPUTER = {
    "type": "computer_20250124",
    "name": "computer",
    "display_width_px": 1024,
    "display_height_px": 768,
}
MEMORY = {"type": "memory_20250818", "name": "memory"}
SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
FETCH = {"type": "web_fetch_20250910", "name": "web_fetch"}
CODE = {"type": "code_execution_20250825", "name": "code_execution"}
LOOKUP = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}

#: Every Anthropic-defined tool type the SDK's tool unions list, with a minimal valid entry.
EVERY = [
    {"type": "bash_20241022", "name": "bash"},
    BASH,
    {"type": "text_editor_20241022", "name": "str_replace_editor"},
    {"type": "text_editor_20250124", "name": "str_replace_editor"},
    {"type": "text_editor_20250429", "name": "str_replace_based_edit_tool"},
    {**EDITOR, "max_characters": 10000},
    {"type": "computer_20241022", "name": "computer", "display_width_px": 800, "display_height_px": 600},
    COMPUTER,
    {**COMPUTER, "type": "computer_20251124", "enable_zoom": True},
    MEMORY,
    SEARCH,
    {"type": "web_search_20260209", "name": "web_search"},
    {"type": "web_search_20260318", "name": "web_search", "response_inclusion": "full"},
    FETCH,
    {"type": "web_fetch_20260209", "name": "web_fetch", "max_content_tokens": 500},
    {"type": "web_fetch_20260309", "name": "web_fetch", "use_cache": True},
    {"type": "web_fetch_20260318", "name": "web_fetch"},
    {"type": "code_execution_20250522", "name": "code_execution"},
    CODE,
    {"type": "code_execution_20260120", "name": "code_execution"},
    {"type": "code_execution_20260521", "name": "code_execution"},
    {"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"},
    {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
    {"type": "tool_search_tool_regex", "name": "tool_search_tool_regex"},
    {"type": "computer_toolset_20260801"},
    {"type": "browser_toolset_20260801", "configs": {}},
]


@pytest.fixture(scope="module")
def url(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--batch-duration", "1") as u:
        yield u


@pytest.fixture()
def claude(url):
    with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0, timeout=30) as c:
        yield c


@pytest.fixture()
def http(url):
    with httpx.Client(base_url=url, timeout=30, headers=V) as c:
        yield c


def create(http: httpx.Client, tools: list[dict], **extra: Any) -> Message:
    """A non-streamed answer, validated strictly with the SDK's ``Message``."""
    body = {"model": MODEL, "max_tokens": 4096, "messages": ASK, "tools": tools, **extra}
    r = http.post("/v1/messages", json=body)
    assert r.status_code == 200, r.text
    return Message.model_validate_json(r.text, strict=True)


def stream(http: httpx.Client, tools: list[dict], **extra: Any) -> list[Any]:
    """The raw SSE events of a streamed answer, each validated strictly with the SDK's event union."""
    body = {"model": MODEL, "max_tokens": 4096, "messages": ASK, "tools": tools, "stream": True, **extra}
    r = http.post("/v1/messages", json=body)
    assert r.status_code == 200, r.text
    out = []
    for chunk in r.text.split("\n\n"):
        if chunk.startswith("event: ping") or not chunk:
            continue
        name, data = chunk.split("\n", 1)
        assert data.startswith("data: ")
        event = EVENT.validate_json(data[6:], strict=True)
        assert name == f"event: {event.type}"
        out.append(event)
    return out


def refused(http: httpx.Client, tools: list[dict]) -> str:
    r = http.post("/v1/messages", json={"model": MODEL, "max_tokens": 50, "messages": ASK, "tools": tools})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error", body
    counted = http.post("/v1/messages/count_tokens", json={"model": MODEL, "messages": ASK, "tools": tools})
    assert counted.status_code == 400 and counted.json()["error"] == body["error"]
    return body["error"]["message"]


@pytest.mark.parametrize("tool", EVERY, ids=[t["type"] for t in EVERY])
def test_every_versioned_tool_type_is_accepted(http, tool):
    m = create(http, [tool])
    assert m.stop_reason in ("tool_use", "end_turn", "max_tokens")
    events = stream(http, [tool])
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    r = http.post("/v1/messages/count_tokens", json={"model": MODEL, "messages": ASK, "tools": [tool]})
    assert r.status_code == 200 and r.json()["input_tokens"] > 0


@pytest.mark.parametrize(
    ("tool", "check"),
    [
        (BASH, lambda i: isinstance(i["command"], str) and i["command"]),
        ({"type": "bash_20241022", "name": "bash"}, lambda i: i["command"]),
        (EDITOR, lambda i: i == {"command": "view", "path": "/repo/README.md"}),
        ({"type": "text_editor_20250124", "name": "str_replace_editor"}, lambda i: i["command"] == "view"),
        (
            COMPUTER,
            lambda i: (
                i == {"action": "screenshot"}
                or (
                    i["action"] == "mouse_move"
                    and 0 <= i["coordinate"][0] < 1024
                    and 0 <= i["coordinate"][1] < 768
                )
            ),
        ),
        (MEMORY, lambda i: i == {"command": "view", "path": "/memories"}),
    ],
    ids=["bash", "bash_2024", "editor", "editor_2025_01", "computer", "memory"],
)
def test_client_tools_answer_a_tool_use_their_client_runs(http, claude, tool, check):
    m = create(http, [LOOKUP, tool], tool_choice={"type": "tool", "name": tool["name"]})
    assert m.stop_reason == "tool_use" and [b.type for b in m.content] == ["tool_use"]
    use = m.content[0]
    assert use.name == tool["name"] and use.id.startswith("toolu_") and check(use.input)
    # The same request gets the same input; the SDK's stream helper rebuilds it from the deltas.
    again = create(http, [LOOKUP, tool], tool_choice={"type": "tool", "name": tool["name"]})
    assert again.content[0].input == use.input
    with claude.messages.stream(
        model=MODEL,
        max_tokens=400,
        messages=ASK,
        tools=[LOOKUP, tool],
        tool_choice={"type": "tool", "name": tool["name"]},
    ) as s:
        final = s.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == use.input
    # auto: the tool the user names is called; after its result, a text answer.
    said = [{"role": "user", "content": f"Use {tool['name']} to check the file notes/todo.txt"}]
    auto = create(http, [LOOKUP, tool], messages=said)
    assert auto.content[-1].type == "tool_use" and auto.content[-1].name == tool["name"]
    answered = [
        *said,
        {"role": "assistant", "content": [b.model_dump() for b in auto.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": auto.content[-1].id, "content": "ok"}],
        },
    ]
    assert create(http, [LOOKUP, tool], messages=answered).stop_reason == "end_turn"


def test_the_text_editor_views_the_path_the_user_names(http):
    said = [{"role": "user", "content": "Open src/app/main.py and fix the bug"}]
    m = create(http, [EDITOR], messages=said)
    assert m.content[0].input == {"command": "view", "path": "src/app/main.py"}


def test_definitions_count_anthropics_documented_tokens(http):
    def count(tools: list[dict]) -> int:
        r = http.post("/v1/messages/count_tokens", json={"model": MODEL, "messages": ASK, "tools": tools})
        assert r.status_code == 200, r.text
        return r.json()["input_tokens"]

    base = count([])
    assert count([BASH]) - base == 245
    assert count([EDITOR]) - base == 700
    assert count([COMPUTER]) - base == 735
    assert count([BASH, EDITOR, COMPUTER]) - base == 245 + 700 + 735
    assert 0 < count([SEARCH]) - base < 50  # no documented figure: its type and name
    deferred = {**LOOKUP, "defer_loading": True}
    assert count([deferred]) == base
    # usage agrees with count_tokens
    m = create(http, [BASH], tool_choice={"type": "tool", "name": "bash"})
    assert m.usage.input_tokens == count([BASH])


def test_web_search_answers_its_call_results_and_a_cited_text(http, claude):
    tool = {**SEARCH, "allowed_domains": ["docs.python.org", "peps.python.org"]}
    said = [{"role": "user", "content": "What changed in Python 3.13 typing?"}]
    m = create(http, [tool], messages=said)
    assert [b.type for b in m.content] == ["server_tool_use", "web_search_tool_result", "text"]
    call, result, text = m.content
    assert call.id.startswith("srvtoolu_01") and call.name == "web_search"
    assert call.input == {"query": "What changed in Python 3.13 typing?"}
    assert result.tool_use_id == call.id and 3 <= len(result.content) <= 5
    for r in result.content:
        assert r.type == "web_search_result" and r.title and r.encrypted_content and r.page_age
        assert urlsplit(r.url).hostname in ("docs.python.org", "peps.python.org")
    assert (
        text.text and text.citations and all(c.type == "web_search_result_location" for c in text.citations)
    )
    assert {c.url for c in text.citations} <= {r.url for r in result.content}
    assert m.stop_reason == "end_turn"
    assert (
        m.usage.server_tool_use.web_search_requests == 1 and m.usage.server_tool_use.web_fetch_requests == 0
    )
    again = create(http, [tool], messages=said).content[1]
    assert [r.model_dump() for r in again.content] == [
        r.model_dump() for r in result.content
    ]  # deterministic

    blocked = create(http, [{**SEARCH, "blocked_domains": ["example.com"]}], messages=said)
    assert all(urlsplit(r.url).hostname != "example.com" for r in blocked.content[1].content)

    # Streamed: the call opens empty and its input comes as input_json_delta; the result block comes
    # whole in its content_block_start; the text carries citations_delta before its text.
    events = stream(http, [tool], messages=said)
    starts = [e for e in events if e.type == "content_block_start"]
    assert [e.content_block.type for e in starts] == ["server_tool_use", "web_search_tool_result", "text"]
    assert starts[0].content_block.input == {}
    deltas = [e for e in events if e.type == "content_block_delta"]
    partial = "".join(d.delta.partial_json for d in deltas if d.index == 0)
    assert json.loads(partial) == call.input
    kinds = [d.delta.type for d in deltas if d.index == 2]
    assert kinds[: len(text.citations)] == ["citations_delta"] * len(text.citations) and "text_delta" in kinds
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.usage.server_tool_use.web_search_requests == 1 and delta.delta.stop_reason == "end_turn"

    with claude.messages.stream(model=MODEL, max_tokens=400, messages=said, tools=[tool]) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert final.content[0].input == call.input and final.content[2].citations
    assert final.usage.server_tool_use.web_search_requests == 1
    # The answer goes back into the next turn as is.
    follow = [*said, final.to_param(), {"role": "user", "content": "Thanks! And in 3.14?"}]
    assert claude.messages.create(model=MODEL, max_tokens=100, messages=follow, tools=[tool]).content


def test_web_fetch_fetches_the_url_the_user_gives(http):
    said = [{"role": "user", "content": "Summarise https://docs.python.org/3/whatsnew/3.13.html please"}]
    m = create(http, [{**FETCH, "citations": {"enabled": True}, "max_content_tokens": 40}], messages=said)
    assert [b.type for b in m.content] == ["server_tool_use", "web_fetch_tool_result", "text"]
    call, result, _ = m.content
    assert call.name == "web_fetch" and call.input == {"url": "https://docs.python.org/3/whatsnew/3.13.html"}
    page = result.content
    assert page.type == "web_fetch_result" and page.url == call.input["url"] and page.retrieved_at
    assert page.content.type == "document" and page.content.source.data and page.content.citations.enabled
    assert len(page.content.source.data.split()) <= 40
    assert m.usage.server_tool_use.web_fetch_requests == 1 and m.stop_reason == "end_turn"
    blocked = create(http, [{**FETCH, "blocked_domains": ["python.org"]}], messages=said)
    error = blocked.content[1].content
    assert error.type == "web_fetch_tool_result_error" and error.error_code == "url_not_allowed"
    events = stream(http, [FETCH], messages=said)
    assert [e.content_block.type for e in events if e.type == "content_block_start"] == [
        "server_tool_use",
        "web_fetch_tool_result",
        "text",
    ]


@pytest.mark.parametrize("version", ["20250522", "20250825", "20260120"])
def test_code_execution_runs_in_a_container(http, version):
    m = create(http, [{"type": f"code_execution_{version}", "name": "code_execution"}])
    call, result, text = m.content
    assert call.type == "server_tool_use" and text.type == "text"
    if version == "20250522":
        assert call.name == "code_execution" and result.type == "code_execution_tool_result"
        a, b = call.input["code"].removeprefix("print(").removesuffix(")").split(" * ")
    else:
        assert call.name == "bash_code_execution" and result.type == "bash_code_execution_tool_result"
        a, b = call.input["command"].split("print(")[1].split(")")[0].split(" * ")
    assert result.content.stdout == f"{int(a) * int(b)}\n" and result.content.return_code == 0
    assert m.container.id.startswith("container_") and m.container.expires_at.timestamp() > time.time()
    events = stream(http, [{"type": f"code_execution_{version}", "name": "code_execution"}])
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.container is not None and delta.delta.container.id.startswith("container_")


def test_tool_search_references_the_deferred_tools(http):
    deferred = [
        {**LOOKUP, "name": "get_weather", "defer_loading": True},
        {**LOOKUP, "name": "send_email", "defer_loading": True},
    ]
    tools = [{"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}, *deferred]
    said = [{"role": "user", "content": "What is the weather in Paris?"}]
    m = create(http, tools, messages=said)
    call, result, _ = m.content
    assert call.name == "tool_search_tool_regex" and result.type == "tool_search_tool_result"
    assert [r.tool_name for r in result.content.tool_references] == ["get_weather"]


def test_a_message_batch_answers_server_tools_too(claude):
    batch = claude.messages.batches.create(
        requests=[
            {
                "custom_id": "s",
                "params": {"model": MODEL, "max_tokens": 200, "messages": ASK, "tools": [SEARCH]},
            },
            {
                "custom_id": "b",
                "params": {"model": MODEL, "max_tokens": 200, "messages": ASK, "tools": [BASH]},
            },
            {
                "custom_id": "x",
                "params": {"model": MODEL, "max_tokens": 200, "messages": ASK, "tools": [{"type": "bash_1"}]},
            },
        ]
    )
    deadline = time.monotonic() + 30
    while claude.messages.batches.retrieve(batch.id).processing_status != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    results = {r.custom_id: r.result for r in claude.messages.batches.results(batch.id)}
    assert [b.type for b in results["s"].message.content] == [
        "server_tool_use",
        "web_search_tool_result",
        "text",
    ]
    assert results["s"].message.usage.server_tool_use.web_search_requests == 1
    assert results["b"].message.content[0].type == "tool_use"
    assert results["x"].type == "errored" and "bash_1" in results["x"].error.error.message


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        (
            [{"type": "bash_20990101", "name": "bash"}],
            "tools.0: Input tag 'bash_20990101' found using 'type'",
        ),
        ([{"type": "bash_20250124", "name": "shell"}], "tools.0.bash_20250124.name: Input should be 'bash'"),
        ([{"type": "bash_20250124"}], "tools.0.bash_20250124.name: Field required"),
        ([{**BASH, "max_uses": 2}], "tools.0.bash_20250124.max_uses: Extra inputs are not permitted"),
        ([{"name": "f"}], "tools.0.custom.input_schema: Field required"),
        (
            [{**SEARCH, "max_uses": 0}],
            "tools.0.web_search_20250305.max_uses: Input should be greater than or equal to 1",
        ),
        ([{**SEARCH, "max_uses": "3"}], "max_uses"),
        (
            [{**SEARCH, "allowed_domains": ["a.com"], "blocked_domains": ["b.com"]}],
            "Cannot specify both allowed_domains and blocked_domains in the same request",
        ),
        (
            [{**SEARCH, "blocked_domains": []}],
            "tools.0.web_search_20250305.blocked_domains: Empty list of domains is ambiguous.",
        ),
        ([{**SEARCH, "allowed_domains": ["https://a.com"]}], "tools.0.web_search_20250305.allowed_domains.0"),
        ([{**SEARCH, "allowed_domains": "a.com"}], "allowed_domains"),
        ([{**SEARCH, "user_location": {"type": "exact"}}], "user_location"),
        (
            [{**COMPUTER, "display_width_px": 0}],
            "tools.0.computer_20250124.display_width_px: Input should be greater",
        ),
        (
            [{"type": "computer_20250124", "name": "computer"}],
            "tools.0.computer_20250124.display_width_px: Field required",
        ),
        (
            [{**COMPUTER, "enable_zoom": True}],
            "tools.0.computer_20250124.enable_zoom: Extra inputs are not permitted",
        ),
        (
            [{**FETCH, "max_content_tokens": 0}],
            "tools.0.web_fetch_20250910.max_content_tokens: Input should be greater",
        ),
        ([{"type": "computer_toolset_20260801", "name": "computer"}], "Extra inputs are not permitted"),
        (
            [LOOKUP, {"type": "memory_20250818", "name": "mem"}],
            "tools.1.memory_20250818.name: Input should be 'memory'",
        ),
    ],
)
def test_bad_tool_entries_are_refused_in_anthropics_words(http, tools, message):
    assert message in refused(http, tools)


def test_the_python_route_alone_answers_alike(start_server, http):
    # The module's server runs the Rust hot path, which hands these requests over; without it the
    # Python route answers the same.
    flags = ("--ttft", "0", "--itl", "0", "--no-hot-path")
    with start_server(*flags) as u, httpx.Client(base_url=u, headers=V, timeout=30) as c:
        for tools in ([SEARCH], [BASH], [CODE]):
            ours, theirs = create(c, tools), create(http, tools)
            assert [b.type for b in ours.content] == [b.type for b in theirs.content]
            assert ours.content[0].input == theirs.content[0].input
            assert ours.usage.input_tokens == theirs.usage.input_tokens
        bad = [{"type": "bash_20250124", "name": "x"}]
        assert refused(c, bad) == refused(http, bad)
