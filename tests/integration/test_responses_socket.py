"""The Responses API's WebSocket mode (``/v1/responses``, :mod:`fakeai.api.responses_socket`): the
official SDK's ``client.responses.connect()`` creating, chaining and steering responses, lanes, and
raw ``websockets`` clients sending bad input (each an ``error`` event, a failed steer or close code
1009; never a traceback in the server's log), fuzzed as the Realtime socket is."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.test_fuzz import JSON, fixed_run
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from fakeai.api.realtime import MAX_EVENT_BYTES
from fakeai.api.responses_socket import MAX_LANES
from fakeai.api.responses_steering import MAX_STEERS

pytestmark = pytest.mark.integration

ENDS = ("response.completed", "response.incomplete", "error")
#: A response's end other than an error (16 output tokens end most answers by their length).
DONE = ("response.completed", "response.incomplete")
#: Slow enough to steer a response mid-text (per connection, through the upgrade's headers).
SLOW = {"x-fakeai-ttft-ms": "50", "x-fakeai-itl-ms": "10"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def server(start_server, tmp_path_factory):
    """A server of this module's own, its log read at the end: no input may cause a traceback."""
    log = tmp_path_factory.mktemp("responses-socket") / "server.log"
    with log.open("wb") as output, start_server("--ttft", "0", "--itl", "0", output=output) as url:
        yield url
    said = log.read_text(errors="replace")
    assert "Traceback" not in said, said[-3000:]


@pytest.fixture()
def sdk(server):
    with openai.OpenAI(base_url=server + "/v1", api_key="test-key", max_retries=0) as c:
        yield c


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/responses"


def until_end(conn) -> list:
    """The SDK connection's events up to a response's end (or an error)."""
    got = []
    for event in conn:
        got.append(event)
        if event.type in ENDS:
            return got
    raise AssertionError("the connection closed")


def raw_until(ws, *types: str) -> list[dict]:
    got = []
    while True:
        got.append(json.loads(ws.recv(timeout=10)))
        if got[-1]["type"] in types:
            return got


def test_the_sdk_gets_the_http_streams_events(sdk, server):
    body = {"model": "gpt-4o", "input": "Say hello", "max_output_tokens": 40, "seed": 7}
    with httpx.stream("POST", server + "/v1/responses", json={**body, "stream": True}, timeout=10) as r:
        http = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    with sdk.responses.connect() as conn:
        conn.send({"type": "response.create", **body})  # the SDK's create() has no seed, fakeai's extra
        socket = until_end(conn)
    assert [e.type for e in socket] == [e["type"] for e in http]
    assert [e.sequence_number for e in socket] == list(range(len(socket)))
    assert all(e.stream_id is None for e in socket)  # the default lane's events name none
    end = socket[-1].response
    assert end.output_text == "".join(e.delta for e in socket if e.type == "response.output_text.delta")
    assert end.output_text == http[-1]["response"]["output"][0]["content"][0]["text"]
    # stored (store defaults to true), as the HTTP create stores it
    assert sdk.responses.retrieve(end.id).output_text == end.output_text


def test_previous_response_id_chains_across_events_stored_or_not(sdk):
    with sdk.responses.connect() as conn:
        conn.response.create(model="gpt-4o", input="My name is Ada.", store=False)
        first = until_end(conn)[-1].response
        conn.response.create(
            model="gpt-4o", input="What is my name?", previous_response_id=first.id, store=False
        )
        second = until_end(conn)[-1].response
        assert second.previous_response_id == first.id
        assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens
        conn.response.create(model="gpt-4o", input="And again?", previous_response_id=second.id)
        third = until_end(conn)[-1]
        assert third.type == "response.completed" and third.response.previous_response_id == second.id
        # a stored response continues from the store on another connection, and over HTTP
    with sdk.responses.connect() as conn:
        conn.response.create(model="gpt-4o", input="Go on", previous_response_id=third.response.id)
        assert until_end(conn)[-1].type == "response.completed"
        # an unstored one lives only in its connection's cache
        conn.response.create(model="gpt-4o", input="Go on", previous_response_id=second.id)
        error = until_end(conn)[-1]
    assert error.type == "error" and error.status == 400
    assert error.error.code == "previous_response_not_found" and error.error.param == "previous_response_id"
    assert sdk.responses.create(model="gpt-4o", input="x", previous_response_id=third.response.id).status


def test_the_async_and_beta_clients_connect_too(server):
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=server + "/v1", api_key="k", max_retries=0) as client:
            async with client.responses.connect() as conn:
                await conn.response.create(model="gpt-4o", input="hi", max_output_tokens=16)
                async for event in conn:
                    if event.type in ENDS:
                        return event.type
        return "closed"

    assert asyncio.run(run()) in DONE
    with openai.OpenAI(base_url=server + "/v1", api_key="k", max_retries=0) as client:
        with client.beta.responses.connect() as conn:
            conn.response.create(model="gpt-4o", input="hi", max_output_tokens=16)
            assert until_end(conn)[-1].type in DONE


def test_events_are_paced_on_the_models_timing(sdk):
    with sdk.responses.connect(extra_headers={"x-fakeai-ttft-ms": "150", "x-fakeai-itl-ms": "20"}) as conn:
        start = time.perf_counter()
        conn.response.create(model="gpt-4o", input="Count to ten", max_output_tokens=16)
        first, deltas = None, 0
        for event in conn:
            if event.type == "response.output_text.delta":
                deltas += 1
                first = first or time.perf_counter() - start
            if event.type in ENDS:
                break
        total = time.perf_counter() - start
    assert first is not None and first >= 0.135  # TTFT, less 10% jitter
    assert total >= 0.135 + 0.018 * (deltas - 2)


def test_creates_on_a_lane_run_in_order_and_lanes_side_by_side(server):
    with connect(ws_url(server), additional_headers=SLOW) as ws:
        for lane in ("a", "a", "b"):
            create = {"type": "response.create", "model": "gpt-4o", "input": "hi", "max_output_tokens": 16}
            ws.send(json.dumps({**create, "stream_id": lane}))
        seen: list[tuple[str, str]] = []
        while sum(kind in ENDS for kind, _ in seen) < 3:
            event = json.loads(ws.recv(timeout=10))
            if event["type"] == "response.created" or event["type"] in ENDS:
                seen.append((event["type"], event["stream_id"]))
    assert all(kind in DONE for kind, _ in seen if kind in ENDS)
    # b ran beside a's first; a's second waited for a's first to end
    assert seen[:2] == [("response.created", "a"), ("response.created", "b")]
    a_created = [i for i, e in enumerate(seen) if e == ("response.created", "a")]
    a_ended = next(i for i, (kind, lane) in enumerate(seen) if kind in DONE and lane == "a")
    assert a_ended < a_created[1]


@pytest.mark.parametrize("logprobs", [False, True])
def test_a_steer_ends_the_response_and_its_successor_commits_the_input(sdk, logprobs):
    include = ["message.output_text.logprobs"] if logprobs else []
    with sdk.responses.connect(extra_headers={**SLOW, "x-fakeai-output-tokens": "40"}) as conn:
        conn.response.create(model="gpt-4o", input="Tell me a long story", include=include)
        seen = []
        for event in conn:
            seen.append(event)
            if sum(e.type == "response.output_text.delta" for e in seen) == 3:
                break
        steered = seen[0].response.id
        conn.response.steer(input="Actually, keep it short.", previous_response_id=steered)
        events = until_end(conn)
        accepted = next(e for e in events if e.type == "response.steer.accepted")
        assert accepted.type == "response.steer.accepted" and accepted.steer.previous_response_id == steered
        end = events[-1]
        assert end.type == "response.incomplete" and end.response.incomplete_details.reason == "steered"
        said = "".join(e.delta for e in seen + events if e.type == "response.output_text.delta")
        assert end.response.output_text == said and said
        assert end.response.usage.output_tokens < 40
        # its logprobs are those of the text it wrote
        tokens = "".join(t.token for t in end.response.output[0].content[0].logprobs or [])
        assert said.startswith(tokens) and bool(tokens) == logprobs
        successor = until_end(conn)
    assert successor[0].type == "response.created"
    assert successor[0].response.previous_response_id == steered
    assert successor[-1].type == "response.completed"
    # the steered response is stored as it ended, the successor's input is the steering input
    assert sdk.responses.retrieve(steered).status == "incomplete"
    items = sdk.responses.input_items.list(successor[-1].response.id).data
    assert [i.content[0].text for i in items] == ["Actually, keep it short."]


def test_a_steer_of_a_tool_calling_response_waits_for_the_tool_output(sdk):
    slow = {"x-fakeai-ttft-ms": "300", "x-fakeai-itl-ms": "10"}
    with sdk.responses.connect(extra_headers=slow) as conn:
        conn.response.create(
            model="gpt-4o", input="Weather in Paris?", tools=[WEATHER], tool_choice="required"
        )
        parent = conn.recv().response.id
        conn.response.steer(
            input=[{"type": "message", "role": "user", "content": "In Celsius."}], previous_response_id=parent
        )
        events = until_end(conn)
        accepted = next(e for e in events if e.type == "response.steer.accepted")
        call = events[-1].response.output[0]
        assert events[-1].type == "response.completed" and call.type == "function_call"
        pending = conn.recv()
        assert pending.type == "response.steer.pending" and pending.reason == "waiting_for_required_input"
        assert pending.steer.id == accepted.steer.id
        assert [(r.type, r.call_id, r.name) for r in pending.required_input] == [
            ("function_call_output", call.call_id, "get_weather")
        ]
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "21C"}
        conn.response.create(model="gpt-4o", input=[output], previous_response_id=parent, tools=[WEATHER])
        answer = until_end(conn)[-1]
    assert answer.type == "response.completed" and answer.response.output[0].type == "message"
    kinds = [i.type for i in sdk.responses.input_items.list(answer.response.id, order="asc").data]
    assert kinds == ["message", "function_call_output"]  # the held input first


def test_steers_that_cannot_be_taken_fail_with_their_code(server):
    steer = {"type": "response.steer", "input": "hi"}
    # the steers come in during the first token's time (the response ends before its first delta),
    # and every answer is 5 tokens long, so it completes
    slow = {"x-fakeai-ttft-ms": "400", "x-fakeai-itl-ms": "5", "x-fakeai-output-tokens": "5"}
    with connect(ws_url(server), additional_headers=slow) as ws:
        ws.send(json.dumps({**steer, "previous_response_id": "resp_nothing"}))
        failed = json.loads(ws.recv(timeout=10))
        assert failed["type"] == "response.steer.failed" and failed["error"]["code"] == "response_not_found"
        # no steer id: it was never accepted
        assert failed["steer"] == {"input": "hi", "previous_response_id": "resp_nothing"}
        ws.send(json.dumps({"type": "response.create", "model": "gpt-4o", "input": "hi"}))
        target = json.loads(ws.recv(timeout=10))["response"]["id"]
        bad = [
            ({**steer, "input": [{"role": "assistant", "content": "x"}]}, "invalid_input"),
            ({**steer, "input": []}, "invalid_input"),
            (
                {**steer, "input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]},
                "invalid_input",
            ),
            ({**steer, "stream_id": "a"}, "invalid_input"),
        ]
        for event, code in bad:
            ws.send(json.dumps({**event, "previous_response_id": target}))
            assert raw_until(ws, "response.steer.failed")[-1]["error"]["code"] == code
        for _ in range(MAX_STEERS + 1):
            ws.send(json.dumps({**steer, "previous_response_id": target}))
        answers = [
            e for e in raw_until(ws, "response.steer.failed") if e["type"].startswith("response.steer")
        ]
        assert [e["type"] for e in answers][-2:] == ["response.steer.accepted", "response.steer.failed"]
        assert answers[-1]["error"]["code"] == "too_many_pending_steers"
        raw_until(ws, "response.incomplete")
        raw_until(ws, "response.completed")  # the successor, with the sixteen steers
        ws.send(json.dumps({**steer, "previous_response_id": target}))
        assert raw_until(ws, "response.steer.failed")[-1]["error"]["code"] == "response_not_active"
        ws.send(json.dumps({"type": "response.create", "model": "gpt-4o", "input": "hi"}))
        done = raw_until(ws, "response.completed")[-1]["response"]["id"]
        ws.send(json.dumps({**steer, "previous_response_id": done}))
        assert raw_until(ws, "response.steer.failed")[-1]["error"]["code"] == "response_already_completed"
        # a response bound to a conversation cannot be steered
        conversation = httpx.post(server + "/v1/conversations", json={}, timeout=10).json()["id"]
        create = {"type": "response.create", "model": "gpt-4o", "input": "hi", "conversation": conversation}
        ws.send(json.dumps(create))
        bound = raw_until(ws, "response.created")[-1]["response"]["id"]
        ws.send(json.dumps({**steer, "previous_response_id": bound}))
        assert raw_until(ws, "response.steer.failed")[-1]["error"]["code"] == "steering_not_supported"
        # no previous_response_id to name: an error event
        ws.send(json.dumps(steer))
        error = raw_until(ws, "error")[-1]
        assert error["error"]["param"] == "previous_response_id" and error["status"] == 400


CREATE = {"type": "response.create", "model": "gpt-4o", "input": "hi", "max_output_tokens": 16}


@pytest.mark.parametrize(
    ("sent", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ("[" * 300 + "]" * 300, "invalid_json", None),
        ("42", None, "type"),
        (json.dumps({"type": "response.teleport"}), "invalid_event_type", "type"),
        (json.dumps({**CREATE, "model": None}), "invalid_value", "model"),
        (
            json.dumps({k: v for k, v in CREATE.items() if k != "model"}),
            "missing_required_parameter",
            "model",
        ),
        (json.dumps({**CREATE, "max_output_tokens": 3}), "invalid_value", "max_output_tokens"),
        (json.dumps({**CREATE, "tools": [{"type": "teleport"}]}), None, "tools"),
        (json.dumps({**CREATE, "background": True}), "unsupported_parameter", "background"),
        (json.dumps({**CREATE, "generate": "yes"}), "invalid_value", "generate"),
        (json.dumps({**CREATE, "stream_id": "no spaces"}), "invalid_stream_id", "stream_id"),
        (json.dumps({**CREATE, "previous_response_id": "resp_gone"}), "previous_response_not_found", None),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_input_is_an_error_event_and_the_socket_goes_on(server, sent, code, param):
    with connect(ws_url(server)) as ws:
        ws.send(sent)
        event = json.loads(ws.recv(timeout=10))
        assert event["type"] == "error" and set(event) <= {"type", "status", "error", "stream_id"}, event
        assert event["status"] == 400 and event["error"]["message"], event
        assert set(event["error"]) == {"type", "code", "message", "param"}
        if code is not None:
            assert event["error"]["code"] == code, event
        if param is not None:
            assert event["error"]["param"] == param, event
        ws.send(json.dumps(CREATE))
        assert raw_until(ws, *ENDS)[-1]["type"] in DONE


def test_the_http_answer_and_the_error_event_say_the_same(server):
    body = {"model": "gpt-4o", "input": "hi", "temperature": 7}
    http = httpx.post(server + "/v1/responses", json=body, timeout=10)
    with connect(ws_url(server)) as ws:
        ws.send(json.dumps({"type": "response.create", "stream_id": "x", **body}))
        event = json.loads(ws.recv(timeout=10))
    assert event == {
        "type": "error",
        "status": http.status_code,
        "error": http.json()["error"],
        "stream_id": "x",
    }


def test_a_warmup_prepares_a_response_without_output(sdk):
    with sdk.responses.connect() as conn:
        conn.response.create(model="gpt-4o", input="Remember: blue.", generate=False)
        warm = until_end(conn)
        assert [e.type for e in warm] == ["response.created", "response.in_progress", "response.completed"]
        assert warm[-1].response.output == [] and warm[-1].response.usage.output_tokens == 0
        conn.response.create(model="gpt-4o", input="Which colour?", previous_response_id=warm[-1].response.id)
        assert until_end(conn)[-1].type == "response.completed"


def test_an_oversized_event_closes_with_1009(server):
    with connect(ws_url(server), max_size=None) as ws:
        ws.send(json.dumps({**CREATE, "input": "x" * (MAX_EVENT_BYTES + 1)}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_named_lanes_are_bounded(server):
    with connect(ws_url(server)) as ws:
        for n in range(MAX_LANES):
            ws.send(json.dumps({**CREATE, "stream_id": f"lane-{n}"}))
        ws.send(json.dumps({**CREATE, "stream_id": "one-too-many"}))
        ws.send(json.dumps({**CREATE, "stream_id": "lane-0"}))  # a lane it has is still fine
        ends = [e for e in raw_until_count(ws, MAX_LANES + 2) if e["type"] in ENDS]
    refused = [e for e in ends if e["type"] == "error"]
    assert len(refused) == 1 and refused[0]["error"]["code"] == "websocket_stream_limit_reached"


def raw_until_count(ws, count: int) -> list[dict]:
    got: list[dict] = []
    while sum(e["type"] in ENDS for e in got) < count:
        got.append(json.loads(ws.recv(timeout=10)))
    return got


def test_the_key_is_checked_before_the_upgrade_and_creates_count_against_the_limits(start_server):
    key = "sk-responses-socket"
    with start_server("--api-key", key, "--rpm", "2", "--ttft", "0", "--itl", "0") as url:
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(url))
        assert refused.value.response.status_code == 401
        with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0) as client:
            with client.responses.connect() as conn:
                outcomes = []
                for _ in range(3):
                    conn.response.create(model="gpt-4o", input="hi", max_output_tokens=16)
                    end = until_end(conn)[-1]
                    outcomes.append("done" if end.type in DONE else (end.status, end.error.code))
    assert outcomes == ["done", "done", (429, "rate_limit_exceeded")]


def test_a_bad_override_header_refuses_the_upgrade(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server), additional_headers={"x-fakeai-itl-ms": "soon"})
    assert refused.value.response.status_code == 400
    assert json.loads(bytes(refused.value.response.body))["error"]["param"] == "x-fakeai-itl-ms"


#: Valid client events (the fuzzer mutates them).
EVENTS: dict[str, dict] = {
    "response.create": {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16, "stream_id": "s"},
    "response.steer": {"previous_response_id": "resp_x", "input": [{"role": "user", "content": "hi"}]},
}
KEYS = sorted({"model", "input", "previous_response_id", "stream_id", "generate", "tools", "store", "type"})


@st.composite
def fuzzed_event(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "valid", "json", "text"]))
    if kind == "text":
        return draw(st.text(max_size=30))
    if kind == "json":
        return json.dumps(draw(JSON))
    name = draw(st.sampled_from([*EVENTS, "response.cancel", ""]))
    body = {"type": name, **json.loads(json.dumps(EVENTS.get(name, {})))}
    if kind == "mutated":
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(sorted(body) + KEYS))
            if draw(st.booleans()) and key in body:
                del body[key]
            else:
                body[key] = draw(JSON)
    return json.dumps(body)


def test_fuzzed_events_never_break_the_socket(server):
    @fixed_run(100)
    @given(st.lists(fuzzed_event(), min_size=1, max_size=5))
    def run(sent: list[str]) -> None:
        with connect(ws_url(server), max_size=None) as ws:
            for text in sent:
                ws.send(text)
            ws.send(json.dumps({**CREATE, "stream_id": "last", "metadata": {"end": "yes"}}))
            while True:
                event = json.loads(ws.recv(timeout=10))
                assert isinstance(event, dict) and isinstance(event.get("type"), str), event
                if event["type"] == "error":
                    assert set(event["error"]) == {"type", "code", "message", "param"}, event
                    assert event["error"]["message"] and 400 <= event["status"] < 500, event
                if event.get("stream_id") == "last" and event["type"] in ENDS:
                    assert event["type"] in DONE, event
                    break

    run()
    assert httpx.get(server + "/health", timeout=10).status_code == 200
