"""``/v1/realtime`` over a real WebSocket: the official SDK (GA protocol) and the beta dialect."""

from __future__ import annotations

import base64
import json
import time

import openai
import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.integration


def ws_url(base_url: str, model: str = "gpt-4o-realtime-preview") -> str:
    return base_url.replace("http://", "ws://") + f"/v1/realtime?model={model}"


def events_until(ws, last: str) -> list[dict]:
    events = []
    while True:
        events.append(json.loads(ws.recv(timeout=10)))
        if events[-1]["type"] == last:
            return events


def test_sdk_text_conversation(client: openai.OpenAI) -> None:
    with client.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        created = conn.recv()
        assert created.type == "session.created" and created.session.model == "gpt-4o-realtime-preview"
        conn.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief"}
        )
        updated = conn.recv()
        assert updated.type == "session.updated" and updated.session.output_modalities == ["text"]
        conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello!"}]}
        )
        assert conn.recv().type == "conversation.item.added"
        assert conn.recv().type == "conversation.item.done"
        conn.response.create()
        kinds, deltas = [], []
        while True:
            event = conn.recv()
            kinds.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
            if event.type == "response.done":
                break
        assert kinds[0] == "response.created" and kinds[1] == "response.output_item.added"
        assert "response.content_part.added" in kinds and kinds[-4:] == [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.done",
        ]
        assert event.response.status == "completed" and event.response.output[0].content[0].text == "".join(
            deltas
        )
        assert event.response.usage.output_tokens > 0 and event.response.usage.input_tokens > 0


def test_beta_audio_in_audio_out_and_errors(base_url: str) -> None:
    with connect(ws_url(base_url), additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        error = json.loads(ws.recv(timeout=10))
        assert error["type"] == "error" and error["error"]["code"] == "input_audio_buffer_commit_empty"
        ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": "not base64!"}))
        assert json.loads(ws.recv(timeout=10))["error"]["param"] == "audio"
        ws.send("{nope")
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "invalid_json"
        ws.send(json.dumps({"type": "teleport"}))
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "invalid_event_type"
        ws.send(json.dumps({"type": "response.cancel"}))
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "response_cancel_not_active"
        ws.send(
            json.dumps(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(48000)).decode()}
            )
        )
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        committed, created = (json.loads(ws.recv(timeout=10)) for _ in range(2))
        assert (
            committed["type"] == "input_audio_buffer.committed"
            and created["type"] == "conversation.item.created"
        )
        assert created["item"]["id"] == committed["item_id"]
        ws.send(json.dumps({"type": "response.create"}))
        events = events_until(ws, "response.done")
        kinds = [e["type"] for e in events]
        assert "response.audio.delta" in kinds and "response.audio_transcript.delta" in kinds
        transcript = "".join(e["delta"] for e in events if e["type"] == "response.audio_transcript.delta")
        assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == transcript
        assert events[-1]["response"]["usage"]["input_token_details"]["audio_tokens"] == 10
        audio = [e for e in events if e["type"] == "response.audio.delta"]
        assert len(base64.b64decode(audio[0]["delta"])) == 4800


def test_pacing_and_cancel(start_server) -> None:
    with start_server("--ttft", "100", "--itl", "50") as url, connect(ws_url(url)) as ws:
        json.loads(ws.recv(timeout=10))
        ws.send(json.dumps({"type": "session.update", "session": {"output_modalities": ["text"]}}))
        json.loads(ws.recv(timeout=10))
        start = time.perf_counter()
        ws.send(json.dumps({"type": "response.create", "response": {"max_output_tokens": 4}}))
        events = events_until(ws, "response.done")
        deltas = sum(e["type"] == "response.output_text.delta" for e in events)
        assert deltas >= 1 and time.perf_counter() - start >= 0.085 + 0.043 * (deltas - 1)  # +-10% jitter
        ws.send(json.dumps({"type": "response.create"}))
        json.loads(ws.recv(timeout=10))  # response.created
        ws.send(json.dumps({"type": "response.create"}))
        ws.send(json.dumps({"type": "response.cancel"}))
        events = events_until(ws, "response.done")
        assert any(
            e["type"] == "error" and e["error"]["code"] == "conversation_already_has_active_response"
            for e in events
        )
        assert events[-1]["response"]["status"] == "cancelled"


def test_missing_model_is_an_error_event(base_url: str) -> None:
    with connect(base_url.replace("http://", "ws://") + "/v1/realtime") as ws:
        event = json.loads(ws.recv(timeout=10))
        assert event["type"] == "error" and event["error"]["param"] == "model"


def test_ga_session_takes_ga_names_and_answers_unknown_ones_with_an_error(client: openai.OpenAI) -> None:
    with client.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        assert conn.recv().session.output_modalities == ["audio"]
        conn.response.create(response={"modalities": ["text"]})  # the beta name
        error = conn.recv()
        assert error.type == "error" and error.error.code == "unknown_parameter"
        assert error.error.param == "response.modalities" and "'output_modalities'" in error.error.message
        conn.session.update(session={"type": "realtime", "temperature": 0.3})  # beta only
        error = conn.recv()
        assert error.type == "error" and error.error.param == "session.temperature"
        conn.response.create(response={"output_modalities": ["txt"]})
        assert conn.recv().error.code == "invalid_value"
        conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
        )
        assert [conn.recv().type for _ in range(2)] == ["conversation.item.added", "conversation.item.done"]
        conn.response.create(response={"output_modalities": ["text"], "max_output_tokens": 3})
        kinds = []
        while (event := conn.recv()).type != "response.done":
            kinds.append(event.type)
        assert "response.output_text.delta" in kinds and not any("audio" in k for k in kinds)
        assert event.response.output_modalities == ["text"] and event.response.usage.output_tokens == 3


def test_beta_session_takes_beta_names(base_url: str) -> None:
    with connect(ws_url(base_url), additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws:
        assert json.loads(ws.recv(timeout=10))["session"]["modalities"] == ["text", "audio"]
        ws.send(json.dumps({"type": "response.create", "response": {"output_modalities": ["text"]}}))
        error = json.loads(ws.recv(timeout=10))["error"]
        assert (error["code"], error["param"]) == ("unknown_parameter", "response.output_modalities")
        ws.send(json.dumps({"type": "session.update", "session": {"voice": "echo", "nonsense": 1}}))
        error = json.loads(ws.recv(timeout=10))["error"]
        assert (error["code"], error["param"]) == ("unknown_parameter", "session.nonsense")
        ws.send(json.dumps({"type": "session.update", "session": {"temperature": 0.3}}))
        session = json.loads(ws.recv(timeout=10))["session"]
        assert (
            session["temperature"] == 0.3 and session["voice"] == "alloy"
        )  # the refused update changed nothing
        ws.send(json.dumps({"type": "response.create", "response": {"modalities": ["text"]}}))
        kinds = [e["type"] for e in events_until(ws, "response.done")]
        assert "response.text.delta" in kinds and "response.audio.delta" not in kinds
