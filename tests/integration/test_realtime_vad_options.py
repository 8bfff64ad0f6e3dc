"""Realtime turn detection takes each type's own settings, as the SDK's ``ServerVad`` and ``SemanticVad``
declare them: ``semantic_vad`` only ``type``, ``eagerness``, ``create_response`` and
``interrupt_response``; ``server_vad`` no ``eagerness``. The other type's setting is an ``error`` event
(``session.update``) or a 400 (sessions and client secrets made over HTTP) naming it, in both protocols,
and a beta session switched from server to semantic VAD keeps none of server VAD's settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.integration

SERVER_ONLY = {
    "silence_duration_ms": 500,
    "prefix_padding_ms": 300,
    "threshold": 0.5,
    "idle_timeout_ms": 6000,
}
SEMANTIC = {"type": "semantic_vad", "eagerness": "high", "create_response": True, "interrupt_response": False}
BETA = {"OpenAI-Beta": "realtime=v1"}


def recv(ws: ClientConnection) -> dict:
    return json.loads(ws.recv(timeout=10))


@contextmanager
def open_session(base_url: str, query: str, beta: bool = False) -> Iterator[ClientConnection]:
    url = base_url.replace("http://", "ws://") + "/v1/realtime" + query
    with connect(url, additional_headers=BETA if beta else {}) as ws:
        assert recv(ws)["type"].endswith("session.created")
        yield ws


def ga_update(vad: dict, kind: str = "realtime") -> dict:
    return {"type": kind, "audio": {"input": {"turn_detection": vad}}}


def update(ws: ClientConnection, session: dict) -> dict:
    ws.send(json.dumps({"type": "session.update", "event_id": "evt_vad", "session": session}))
    return recv(ws)


@pytest.mark.parametrize(
    ("query", "kind"), [("?model=gpt-realtime", "realtime"), ("?intent=transcription", "transcription")]
)
def test_ga_semantic_vad_refuses_server_vad_settings(base_url: str, query: str, kind: str) -> None:
    where = "session.audio.input.turn_detection"
    with open_session(base_url, query) as ws:
        for name, value in SERVER_ONLY.items():
            event = update(ws, ga_update({"type": "semantic_vad", name: value}, kind))
            assert event["type"] == "error", event
            error = event["error"]
            assert (error["param"], error["code"], error["event_id"]) == (
                f"{where}.{name}",
                "unknown_parameter",
                "evt_vad",
            )
            assert "server_vad" in error["message"]
        event = update(ws, ga_update({"type": "server_vad", "eagerness": "low"}, kind))
        assert event["type"] == "error" and event["error"]["param"] == f"{where}.eagerness"
        # its own settings are taken, and shown whole
        event = update(ws, ga_update(SEMANTIC, kind))
        assert event["type"] == "session.updated", event
        assert event["session"]["audio"]["input"]["turn_detection"] == SEMANTIC
        server = {"type": "server_vad", **SERVER_ONLY, "create_response": False}
        event = update(ws, ga_update(server, kind))
        assert event["session"]["audio"]["input"]["turn_detection"] == server


def test_beta_semantic_vad_refuses_them_and_replaces_server_vad(base_url: str) -> None:
    with open_session(base_url, "?model=gpt-4o-realtime-preview", beta=True) as ws:
        event = update(ws, {"turn_detection": {"type": "semantic_vad", "silence_duration_ms": 200}})
        assert (
            event["type"] == "error"
            and event["error"]["param"] == "session.turn_detection.silence_duration_ms"
        )
        assert event["error"]["code"] == "unknown_parameter"
        server = {"type": "server_vad", "silence_duration_ms": 200, "threshold": 0.6}
        assert update(ws, {"turn_detection": server})["session"]["turn_detection"] == server
        # a change of type replaces the settings: no server VAD field is left under semantic VAD
        event = update(ws, {"turn_detection": {"type": "semantic_vad"}})
        assert event["type"] == "session.updated" and event["session"]["turn_detection"] == {
            "type": "semantic_vad"
        }
        # the same type still merges, as before
        update(ws, {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}})
        event = update(ws, {"turn_detection": {"type": "semantic_vad", "create_response": False}})
        merged = {"type": "semantic_vad", "eagerness": "low", "create_response": False}
        assert event["session"]["turn_detection"] == merged


@pytest.mark.parametrize(
    ("path", "body", "headers", "param"),
    [
        (
            "/v1/realtime/client_secrets",
            {"session": ga_update({"type": "semantic_vad", "threshold": 0.4})},
            {},
            "session.audio.input.turn_detection.threshold",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": ga_update({"type": "semantic_vad", "prefix_padding_ms": 300}, "transcription")},
            {},
            "session.audio.input.turn_detection.prefix_padding_ms",
        ),
        (
            "/v1/realtime/transcription_sessions",
            {"turn_detection": {"type": "semantic_vad", "silence_duration_ms": 500}},
            BETA,
            "turn_detection.silence_duration_ms",
        ),
        (
            "/v1/realtime/sessions",
            {
                "model": "gpt-4o-realtime-preview",
                "turn_detection": {"type": "server_vad", "eagerness": "auto"},
            },
            BETA,
            "turn_detection.eagerness",
        ),
    ],
)
def test_http_sessions_refuse_them_too(
    base_url: str, path: str, body: dict, headers: dict, param: str
) -> None:
    r = httpx.post(base_url + path, json=body, headers=headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (
        param,
        "unknown_parameter",
        "invalid_request_error",
    )


def test_a_beta_update_without_type_changes_the_current_kind(base_url: str) -> None:
    """Beta's turn detection may leave ``type`` out: its settings are then the current kind's (a
    semantic session took ``threshold`` and refused ``eagerness``, as if it were server VAD)."""
    with open_session(base_url, "?model=gpt-4o-realtime-preview", beta=True) as ws:
        assert update(ws, {"turn_detection": {"type": "semantic_vad"}})["type"] == "session.updated"
        event = update(ws, {"turn_detection": {"eagerness": "high"}})
        assert event["type"] == "session.updated", event
        assert event["session"]["turn_detection"] == {"type": "semantic_vad", "eagerness": "high"}
        event = update(ws, {"turn_detection": {"threshold": 0.9}})
        assert event["type"] == "error", event
        assert event["error"]["param"] == "session.turn_detection.threshold"
        assert update(ws, {"turn_detection": {"type": "server_vad"}})["type"] == "session.updated"
        event = update(ws, {"turn_detection": {"threshold": 0.9}})
        assert event["session"]["turn_detection"] == {"type": "server_vad", "threshold": 0.9}


def test_ga_turn_detection_needs_its_type(base_url: str) -> None:
    """GA's types require ``type``: an object without one replaced the setting with a typeless one."""
    with open_session(base_url, "?model=gpt-realtime") as ws:
        event = update(ws, ga_update({"threshold": 0.8}))
        assert event["type"] == "error", event
        assert event["error"]["param"] == "session.audio.input.turn_detection.type"
        assert event["error"]["code"] == "missing_required_parameter"
