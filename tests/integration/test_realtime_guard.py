"""``/v1/realtime`` under attack: the API key before the upgrade, rate limits per response, bounded
audio buffer and events, and bad response options answered as ``error`` events."""

from __future__ import annotations

import base64
import json

import openai
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from fakeai.api.realtime import MAX_BUFFER_BYTES, MAX_EVENT_BYTES

pytestmark = pytest.mark.integration

KEY = "sk-realtime-guard-1"


@pytest.fixture(scope="module")
def guarded(start_server):
    with start_server("--api-key", KEY, "--rpm", "3", "--ttft", "0", "--itl", "0") as url:
        yield url


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/v1/realtime?model=gpt-4o-realtime-preview"


def next_of(ws, *types: str) -> dict:
    while True:
        event = json.loads(ws.recv(timeout=10))
        if event["type"] in types:
            return event


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"additional_headers": {"Authorization": "Bearer sk-wrong"}},
        {"subprotocols": ["realtime", "openai-insecure-api-key.sk-wrong"]},
    ],
)
def test_no_key_or_a_wrong_one_is_refused_before_the_upgrade(guarded, kwargs):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(guarded), **kwargs)
    assert refused.value.response.status_code == 401
    error = json.loads(bytes(refused.value.response.body))["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_api_key"


def test_the_key_as_browser_subprotocol_or_header_is_accepted(guarded):
    with connect(ws_url(guarded), subprotocols=["realtime", f"openai-insecure-api-key.{KEY}"]) as ws:
        assert ws.subprotocol == "realtime"
        assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
    sdk = openai.OpenAI(base_url=guarded + "/v1", api_key=KEY, max_retries=0)
    with sdk, sdk.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        assert conn.recv().type == "session.created"


def test_responses_count_against_the_rate_limit(start_server):
    with start_server("--api-key", KEY, "--rpm", "2", "--ttft", "0", "--itl", "0") as url:
        with connect(ws_url(url), additional_headers={"Authorization": f"Bearer {KEY}"}) as ws:
            outcomes = []
            for _ in range(3):
                ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
                event = next_of(ws, "response.done", "error")
                outcomes.append(event["type"] if event["type"] != "error" else event["error"]["code"])
            assert outcomes == ["response.done", "response.done", "rate_limit_exceeded"]


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"max_output_tokens": -5}, "response.max_output_tokens"),
        ({"max_output_tokens": 2**31}, "response.max_output_tokens"),
        ({"max_output_tokens": 2**63}, "response.max_output_tokens"),
        ({"max_output_tokens": 200_000}, "response.max_output_tokens"),
        ({"max_output_tokens": "lots"}, "response.max_output_tokens"),
        ({"output_modalities": "text"}, "response.output_modalities"),
        ({"output_modalities": ["smell"]}, "response.output_modalities"),
        ({"instructions": 5}, "response.instructions"),
    ],
)
def test_bad_response_options_are_an_error_event_and_the_socket_goes_on(base_url, options, param):
    with connect(ws_url(base_url)) as ws:
        ws.send(json.dumps({"type": "response.create", "event_id": "ev1", "response": options}))
        error = next_of(ws, "error", "response.created")["error"]
        assert error["param"] == param and error["event_id"] == "ev1"
        ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        assert next_of(ws, "response.done")["response"]["status"] == "completed"


def test_bad_session_options_are_refused_too(base_url):
    with connect(ws_url(base_url)) as ws:
        ws.send(json.dumps({"type": "session.update", "session": {"max_output_tokens": 0}}))
        assert next_of(ws, "error", "session.updated")["error"]["param"] == "session.max_output_tokens"


def test_the_audio_buffer_is_bounded(base_url):
    chunk = base64.b64encode(bytes(4 * 1024 * 1024)).decode()
    with connect(ws_url(base_url), max_size=None) as ws:
        fits = MAX_BUFFER_BYTES // (4 * 1024 * 1024)
        for _ in range(fits + 1):
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        assert next_of(ws, "error")["error"]["code"] == "input_audio_buffer_full"
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))  # what fitted is still there
        assert next_of(ws, "input_audio_buffer.committed", "error")["type"] == "input_audio_buffer.committed"


@pytest.mark.parametrize(
    "audio",
    ["é", "QUJD\u00e9", "not base64!", "QUJ", 5, None, ["QUJD"]],
    ids=["non-ASCII", "base64 then non-ASCII", "not base64", "bad padding", "number", "null", "array"],
)
def test_bad_audio_is_an_error_event_and_the_session_goes_on(base_url, audio):
    """Non-ASCII text was a traceback that closed the socket (base64 raised a plain ValueError)."""
    with connect(ws_url(base_url)) as ws:
        ws.send(json.dumps({"type": "input_audio_buffer.append", "event_id": "ev1", "audio": audio}))
        error = next_of(ws, "error")["error"]
        assert error == {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": error["message"],
            "param": "audio",
            "event_id": "ev1",
        }
        ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert next_of(ws, "input_audio_buffer.cleared", "error")["type"] == "input_audio_buffer.cleared"


def test_an_event_over_the_limit_closes_with_1009(base_url):
    with connect(ws_url(base_url), max_size=None) as ws:
        ws.recv(timeout=10)
        ws.send("x" * (MAX_EVENT_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def nest(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "message", "role": "user", "content": 5}, "item.content"),
        ({"type": "message", "role": "user", "content": ["hi"]}, "item.content[0]"),
        (
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": 5}]},
            "item.content[0].text",
        ),
        (
            {"type": "message", "role": "user", "content": [{"type": "input_audio", "transcript": []}]},
            "item.content[0].transcript",
        ),
        ({"type": "message", "role": "user", "id": [1], "content": []}, "item.id"),
        ({"type": "message", "role": "user", "content": [], "extra": nest(300)}, None),
    ],
    ids=[
        "content not a list",
        "part not an object",
        "text not a string",
        "transcript not a string",
        "id not a string",
        "nested 300 deep",
    ],
)
def test_a_malformed_item_is_an_error_event_and_the_session_goes_on(base_url, item, param):
    """Each was a traceback that closed the socket (the item reached the conversation, and the next
    response, or the item's own echo, failed on it)."""
    with connect(ws_url(base_url), max_size=None) as ws:
        ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        error = next_of(ws, "error", "conversation.item.added")["error"]
        assert error["param"] == param and error["code"] in ("invalid_value", "invalid_json"), error
        assert next_of(ws, "response.done", "error")["response"]["status"] == "completed"


def test_a_long_session_keeps_a_bounded_conversation(base_url):
    """More items than a conversation keeps: the oldest leave the prompt, which stops growing."""
    from fakeai.api.realtime_conversation import MAX_ITEMS

    def prompt_tokens(ws) -> int:
        response = {"output_modalities": ["text"], "max_output_tokens": 4}
        ws.send(json.dumps({"type": "response.create", "response": response}))
        return next_of(ws, "response.done")["response"]["usage"]["input_tokens"]

    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "one two three"}]}
    with connect(ws_url(base_url), max_size=None) as ws:
        for _ in range(MAX_ITEMS):
            ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        full = prompt_tokens(ws)
        for _ in range(200):
            ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        later = prompt_tokens(ws)
    per_item = full / MAX_ITEMS
    assert per_item > 3, full
    # 200 more items, unbounded, would add 200 x per_item; bounded, only the first response's short
    # item joins (in place of the oldest user item)
    assert abs(later - full) < 10 * per_item, (full, later)
