"""Realtime transcription sessions over a real server: transcription client secrets (GA
``client_secrets`` with ``session.type: "transcription"``, beta ``transcription_sessions``), the
``?intent=transcription`` sessions of both protocols, their transcripts (deltas joining into the
completed transcript, with usage), server VAD, the refused ``response.create``, the checks of every
setting (400s and ``error`` events naming the parameter), and secrets shared by two workers."""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import wave

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.beta.realtime import TranscriptionSession
from openai.types.realtime import ClientSecretCreateResponse
from tests.integration.test_contract import REALTIME_EVENT_TYPES, by_type, conforms
from tests.integration.test_fuzz import JSON, fixed_run
from websockets.sync.client import connect

pytestmark = pytest.mark.integration

KEY = "sk-realtime-transcription-1"
DELTA = "conversation.item.input_audio_transcription.delta"
COMPLETED = "conversation.item.input_audio_transcription.completed"
BETA_EVENT_TYPES = by_type(BetaServerEvent)
ITEM_EVENTS = {
    False: ["conversation.item.added", "conversation.item.done"],
    True: ["conversation.item.created"],
}
GA_CONFIG = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "Expect tech words."},
            "turn_detection": None,
            "noise_reduction": {"type": "near_field"},
        }
    },
}


@pytest.fixture(scope="module")
def guarded(start_server):
    with start_server("--api-key", KEY, "--workers", "2", "--ttft", "0", "--itl", "0") as url:
        yield url


def sdk(url: str, key: str = KEY) -> openai.OpenAI:
    ws_base = url.replace("http://", "ws://") + "/v1"
    return openai.OpenAI(base_url=url + "/v1", api_key=key, websocket_base_url=ws_base, max_retries=0)


def ws_url(base_url: str, query: str = "") -> str:
    return base_url.replace("http://", "ws://") + "/v1/realtime" + query


def recv(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


def until(ws, last: str) -> list[dict]:
    events = [recv(ws)]
    while events[-1]["type"] != last:
        events.append(recv(ws))
    return events


def tone(ms: int, amplitude: int = 8000) -> bytes:
    """``ms`` of a 24 kHz PCM16 tone (loud enough to be speech for server VAD)."""
    return b"".join(struct.pack("<h", int(amplitude * math.sin(i / 6))) for i in range(24 * ms))


def wav_frames(ms: int) -> bytes:
    """The PCM16 samples of a 24 kHz mono WAV file of ``ms`` of tone, read back from the file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(tone(ms))
    out.seek(0)
    with wave.open(out, "rb") as r:
        return r.readframes(r.getnframes())


def append(audio: bytes) -> str:
    return json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()})


def test_ga_secret_transcribes_committed_audio_with_the_sdk(guarded: str) -> None:
    minted = sdk(guarded).realtime.client_secrets.create(
        session={**GA_CONFIG, "include": ["item.input_audio_transcription.logprobs"]}
    )
    assert minted.value.startswith("ek_") and minted.session.type == "transcription"
    assert minted.session.object == "realtime.transcription_session"
    assert minted.session.audio.input.transcription.model == "gpt-4o-transcribe"
    assert minted.session.audio.input.noise_reduction.type == "near_field"
    audio = wav_frames(1500)
    # The browser's way: the secret as the key, no model and no intent in the URL.
    with sdk(guarded, minted.value).realtime.connect() as conn:
        created = conn.recv()
        assert created.type == "session.created" and created.session.type == "transcription"
        assert created.session.audio.input.transcription.language == "en"
        conn.input_audio_buffer.append(audio=base64.b64encode(audio).decode())
        conn.input_audio_buffer.commit()
        committed = conn.recv()
        assert committed.type == "input_audio_buffer.committed"
        added, done = conn.recv(), conn.recv()
        assert (added.type, done.type) == ("conversation.item.added", "conversation.item.done")
        assert added.item.id == committed.item_id and added.item.role == "user"
        deltas = []
        while (event := conn.recv()).type == DELTA:
            assert event.item_id == committed.item_id and event.content_index == 0
            assert event.logprobs and event.logprobs[0].token == event.delta
            deltas.append(event.delta)
        assert event.type == COMPLETED and event.item_id == committed.item_id
        assert len(deltas) > 1 and "".join(deltas) == event.transcript and event.transcript
        usage = event.usage
        assert usage.type == "tokens" and usage.input_token_details.audio_tokens == 15
        assert usage.input_token_details.text_tokens > 0  # the prompt
        assert usage.total_tokens == usage.input_tokens + usage.output_tokens and usage.output_tokens > 0
        assert len(event.logprobs) == len(deltas)
        # A transcription session never answers.
        conn.response.create()
        refused = conn.recv()
        assert refused.type == "error" and refused.error.param == "type"
        assert "transcription session" in refused.error.message
        first = event.transcript
    # The same audio gives the same transcript (on whichever worker).
    with connect(ws_url(guarded), additional_headers={"Authorization": f"Bearer {minted.value}"}) as ws:
        assert recv(ws)["type"] == "session.created"
        ws.send(append(audio))
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        assert until(ws, COMPLETED)[-1]["transcript"] == first


def test_intent_transcription_session_updated_to_whisper(client: openai.OpenAI, base_url: str) -> None:
    with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        created = conn.recv()
        assert created.session.type == "transcription"
        assert created.session.audio.input.transcription.model == "gpt-4o-transcribe"  # the default
        conn.session.update(
            session={
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "whisper-1", "language": "fr"}}},
            }
        )
        updated = conn.recv()
        assert updated.type == "session.updated" and updated.session.type == "transcription"
        assert updated.session.audio.input.transcription.model == "whisper-1"
        assert updated.session.audio.input.format.type == "audio/pcm"  # kept
        conn.input_audio_buffer.append(audio=base64.b64encode(tone(2000)).decode())
        conn.input_audio_buffer.commit()
        kinds = []
        while (event := conn.recv()).type != COMPLETED:
            kinds.append(event.type)
            if event.type == DELTA:
                delta = event.delta
        # whisper-1 sends its transcript in one delta, and bills the duration.
        assert kinds.count(DELTA) == 1 and delta == event.transcript
        assert event.usage.type == "duration" and event.usage.seconds == 2.0
        for kind in ("conversation.item.create", "response.cancel"):
            conn.send({"type": kind, "item": {"type": "message", "role": "user", "content": []}})
            assert conn.recv().type == "error"


def test_beta_transcription_sessions_and_intent(guarded: str) -> None:
    created = sdk(guarded).beta.realtime.transcription_sessions.create(
        input_audio_format="g711_ulaw",
        input_audio_transcription={"model": "gpt-4o-mini-transcribe", "language": "en", "prompt": ""},
        input_audio_noise_reduction={"type": "far_field"},
        client_secret={"expires_at": {"anchor": "created_at", "seconds": 120}},
    )
    assert created.client_secret.value.startswith("ek_") and created.input_audio_format == "g711_ulaw"
    assert created.input_audio_transcription.model == "gpt-4o-mini-transcribe"
    secret = created.client_secret.value
    with sdk(guarded, secret).beta.realtime.connect(
        model="gpt-4o-mini-transcribe", extra_query={"intent": "transcription"}
    ) as conn:
        first = conn.recv()
        assert first.type == "transcription_session.created"
        conn.transcription_session.update(session={"input_audio_transcription": {"prompt": "Names."}})
        updated = conn.recv()
        assert updated.type == "transcription_session.updated"
        assert updated.session.input_audio_transcription.model == "gpt-4o-mini-transcribe"  # merged
        assert updated.session.input_audio_transcription.prompt == "Names."
        conn.input_audio_buffer.append(audio=base64.b64encode(bytes([0x80]) * 8000).decode())  # 1 s
        conn.input_audio_buffer.commit()
        assert conn.recv().type == "input_audio_buffer.committed"
        assert conn.recv().type == "conversation.item.created"
        deltas = []
        while (event := conn.recv()).type == DELTA:
            deltas.append(event.delta)
        assert event.type == COMPLETED and "".join(deltas) == event.transcript
        assert event.usage.input_token_details.audio_tokens == 10  # 8 kHz G.711: 1 s
        conn.session.update(session={"modalities": ["text"]})
        assert conn.recv().type == "error"  # a beta transcription session takes transcription_session.update
    # Without a secret: the API key and ?intent=transcription, beta dialect.
    headers = {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "realtime=v1"}
    with connect(ws_url(guarded, "?intent=transcription"), additional_headers=headers) as ws:
        session = recv(ws)
        assert session["type"] == "transcription_session.created"
        assert session["session"]["input_audio_transcription"]["model"] == "gpt-4o-transcribe"


def test_server_vad_announces_speech_and_commits_it(client: openai.OpenAI) -> None:
    with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        conn.recv()
        vad = {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 100, "silence_duration_ms": 300}
        conn.session.update(session={"type": "transcription", "audio": {"input": {"turn_detection": vad}}})
        assert conn.recv().session.audio.input.turn_detection.silence_duration_ms == 300
        # 500 ms of silence, 1 s of speech, 500 ms of silence; then silence only, which is no speech.
        audio = bytes(24000) + tone(1000) + bytes(24000)
        for i in range(0, len(audio), 9600):  # 200 ms appends, as a microphone sends
            conn.input_audio_buffer.append(audio=base64.b64encode(audio[i : i + 9600]).decode())
        started, stopped, committed = conn.recv(), conn.recv(), conn.recv()
        assert started.type == "input_audio_buffer.speech_started" and started.audio_start_ms == 400
        assert stopped.type == "input_audio_buffer.speech_stopped" and stopped.audio_end_ms == 1800
        assert committed.type == "input_audio_buffer.committed"
        assert started.item_id == stopped.item_id == committed.item_id
        while (event := conn.recv()).type != COMPLETED:
            pass
        assert event.item_id == committed.item_id and event.usage.input_token_details.audio_tokens == 18
        conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())
        conn.input_audio_buffer.commit()  # a manual commit still works with VAD on
        committed = conn.recv()
        assert committed.type == "input_audio_buffer.committed"  # no speech events before it


def test_conversation_session_transcribes_its_input_audio(client: openai.OpenAI) -> None:
    with client.realtime.connect(model="gpt-realtime") as conn:
        conn.recv()
        conn.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
            }
        )
        updated = conn.recv()
        assert updated.session.audio.input.transcription.model == "gpt-4o-mini-transcribe"
        assert updated.session.audio.output.voice == "alloy"  # the output settings stay
        conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())
        conn.input_audio_buffer.commit()
        while (event := conn.recv()).type != COMPLETED:
            pass
        assert event.transcript
        conn.response.create()
        while (event := conn.recv()).type != "response.done":
            pass
        assert event.response.status == "completed"
        # A conversation session is not turned into a transcription one.
        conn.session.update(session={"type": "transcription"})
        error = conn.recv()
        assert error.type == "error" and error.error.param == "session.type"
        assert "intent=transcription" in error.error.message


AUDIO_INPUT = "session.audio.input."


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/v1/realtime/client_secrets",
            {
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"model": "gpt-4o"}}},
                }
            },
            AUDIO_INPUT + "transcription.model",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "audio": {"input": {"format": {"type": "audio/ogg"}}}}},
            AUDIO_INPUT + "format.type",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "audio": {"input": {"format": {"rate": 16000}}}}},
            AUDIO_INPUT + "format.rate",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "audio": {"input": {"transcription": {"language": "xx"}}}}},
            AUDIO_INPUT + "transcription.language",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "audio": {"input": {"transcription": None}}}},
            AUDIO_INPUT + "transcription",
        ),
        (
            "/v1/realtime/client_secrets",
            {
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"prompt": "x" * 5000}}},
                }
            },
            AUDIO_INPUT + "transcription.prompt",
        ),
        (
            "/v1/realtime/client_secrets",
            {
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
                }
            },
            AUDIO_INPUT + "turn_detection.threshold",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "audio": {"output": {"voice": "alloy"}}}},
            "session.audio.output",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "instructions": "hi"}},
            "session.instructions",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "transcription", "include": ["x"]}},
            "session.include",
        ),
        (
            "/v1/realtime/client_secrets",
            {"session": {"type": "realtime", "audio": {"input": {"transcription": {"model": "tts-1"}}}}},
            AUDIO_INPUT + "transcription.model",
        ),
        (
            "/v1/realtime/transcription_sessions",
            {"input_audio_transcription": {"model": "gpt-4o-realtime-preview"}},
            "input_audio_transcription.model",
        ),
        ("/v1/realtime/transcription_sessions", {"input_audio_format": "mp3"}, "input_audio_format"),
        (
            "/v1/realtime/transcription_sessions",
            {"turn_detection": {"type": "push_to_talk"}},
            "turn_detection.type",
        ),
        (
            "/v1/realtime/transcription_sessions",
            {"input_audio_noise_reduction": {"type": "loud"}},
            "input_audio_noise_reduction.type",
        ),
        (
            "/v1/realtime/transcription_sessions",
            {"client_secret": {"expires_at": {"seconds": 5}}},
            "client_secret",
        ),
        ("/v1/realtime/transcription_sessions", {"voice": "alloy"}, "voice"),
        (
            "/v1/realtime/transcription_sessions",
            {"input_audio_transcription": None},
            "input_audio_transcription",
        ),
        ("/v1/realtime/sessions", {"input_audio_format": "wav"}, "input_audio_format"),
        ("/v1/realtime/transcription_sessions", [1], None),
    ],
)
def test_bad_configurations_are_400s_naming_the_parameter(
    guarded: str, path: str, body: object, param: str | None
) -> None:
    r = httpx.post(guarded + path, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param, error


def test_bad_updates_and_events_are_error_events(base_url: str) -> None:
    with connect(ws_url(base_url, "?intent=transcription")) as ws:
        assert recv(ws)["session"]["type"] == "transcription"
        bad = [
            ({"type": "session.update", "session": {"type": "realtime"}}, "session.type"),
            (
                {"type": "session.update", "session": {"audio": {"input": {"transcription": {"model": 7}}}}},
                AUDIO_INPUT + "transcription.model",
            ),
            (
                {"type": "session.update", "session": {"output_modalities": ["text"]}},
                "session.output_modalities",
            ),
            ({"type": "session.update", "session": {"audio": "loud"}}, "session.audio"),
            ({"type": "transcription_session.update", "session": {}}, "type"),  # a beta event
            ({"type": "response.create"}, "type"),
            ({"type": "input_audio_buffer.commit"}, None),  # nothing to commit
            ({"type": "input_audio_buffer.append", "audio": 5}, "audio"),
        ]
        for event, param in bad:
            ws.send(json.dumps({**event, "event_id": "evt_1"}))
            error = recv(ws)
            assert error["type"] == "error" and error["error"]["event_id"] == "evt_1", error
            if param is not None:
                assert error["error"]["param"] == param, error
        # still serving
        ws.send(json.dumps({"type": "session.update", "session": {"include": []}}))
        assert recv(ws)["type"] == "session.updated"
    with connect(
        ws_url(base_url, "?model=gpt-realtime"), additional_headers={"OpenAI-Beta": "realtime=v1"}
    ) as ws:
        recv(ws)
        ws.send(json.dumps({"type": "transcription_session.update", "session": {}}))
        assert recv(ws)["error"]["param"] == "type"  # not a transcription session
        ws.send(
            json.dumps({"type": "session.update", "session": {"input_audio_transcription": {"model": "x"}}})
        )
        assert recv(ws)["error"]["param"] == "session.input_audio_transcription.model"


def test_secrets_work_on_every_worker_and_need_a_real_key(guarded: str) -> None:
    minted = sdk(guarded).realtime.client_secrets.create(session=GA_CONFIG)
    offered = ["realtime", f"openai-insecure-api-key.{minted.value}"]
    for _ in range(4):  # two workers: each finds the secret
        with connect(ws_url(guarded, "?model=gpt-realtime"), subprotocols=offered) as ws:
            session = recv(ws)["session"]
            assert session["type"] == "transcription"  # the secret's kind wins over the URL's model
            assert session["audio"]["input"]["transcription"]["prompt"] == "Expect tech words."
            ws.send(append(tone(200)))
            ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            assert until(ws, COMPLETED)[-1]["usage"]["input_token_details"]["audio_tokens"] == 2
    # The answers validate strictly as the SDK's types.
    auth = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(guarded + "/v1/realtime/client_secrets", json={"session": GA_CONFIG}, headers=auth)
    conforms(ClientSecretCreateResponse, r.json())
    r = httpx.post(guarded + "/v1/realtime/transcription_sessions", json={}, headers=auth)
    conforms(TranscriptionSession, r.json())
    # A secret cannot mint secrets, and the endpoints want a key.
    for key in (minted.value, "sk-bad"):
        r = httpx.post(
            guarded + "/v1/realtime/transcription_sessions",
            json={},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 401


#: A valid event of each kind a transcription session takes (the fuzzer mutates them).
FUZZED = {
    "session.update": {
        "session": {
            "type": "transcription",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "transcription": {"model": "whisper-1", "language": "en"},
                    "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                }
            },
            "include": ["item.input_audio_transcription.logprobs"],
        }
    },
    "input_audio_buffer.append": {"audio": base64.b64encode(tone(300)).decode()},
    "input_audio_buffer.commit": {},
    "input_audio_buffer.clear": {},
    "response.create": {},
}


@st.composite
def fuzzed_event(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(FUZZED)))
    body = {"type": name, **json.loads(json.dumps(FUZZED[name]))}
    for _ in range(draw(st.integers(0, 3))):
        target = body  # a field replaced, removed or added, at any depth of the settings
        while True:
            inner = [k for k, v in target.items() if isinstance(v, dict)]
            if not inner or draw(st.booleans()):
                break
            target = target[draw(st.sampled_from(inner))]
        key = draw(st.sampled_from(sorted(target) + ["type", "model", "format", "audio", "x"]))
        if key in target and draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(JSON)
    return json.dumps(body)


def test_fuzzed_events_never_break_a_transcription_session(start_server, tmp_path) -> None:
    log = tmp_path / "server.log"
    with log.open("wb") as output, start_server("--ttft", "0", "--itl", "0", output=output) as url:

        @fixed_run(80)
        @given(st.lists(fuzzed_event(), min_size=1, max_size=6), st.booleans())
        def run(events: list[str], beta: bool) -> None:
            headers = {"OpenAI-Beta": "realtime=v1"} if beta else {}
            with connect(ws_url(url, "?intent=transcription"), additional_headers=headers) as ws:
                recv(ws)
                for text in events:
                    ws.send(text)
                ws.send(append(tone(200)))
                ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
                update = "transcription_session.update" if beta else "session.update"
                ws.send(json.dumps({"type": update, "session": {"include": []}}))
                while True:
                    answer = recv(ws)
                    if answer["type"] == "error":
                        assert set(answer["error"]) == {"type", "code", "message", "param", "event_id"}
                    if answer["type"].endswith("session.updated") and answer["session"]["include"] == []:
                        break

        run()
        assert httpx.get(url + "/health", timeout=10).status_code == 200
    said = log.read_text(errors="replace")
    assert "Traceback" not in said, said[-3000:]


@pytest.mark.parametrize("beta", [False, True])
def test_events_conform_to_the_sdk_types(base_url: str, beta: bool) -> None:
    """Every server event of a transcription session validates strictly as the SDK's type of it."""
    types = BETA_EVENT_TYPES if beta else REALTIME_EVENT_TYPES
    headers = {"OpenAI-Beta": "realtime=v1"} if beta else {}
    if beta:
        update = {
            "type": "transcription_session.update",
            "session": {
                "input_audio_transcription": {"model": "gpt-4o-transcribe", "prompt": "hi"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 200},
                "include": ["item.input_audio_transcription.logprobs"],
            },
        }
    else:
        vad = {"type": "server_vad", "silence_duration_ms": 200}
        update = {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"turn_detection": vad}},
                "include": ["item.input_audio_transcription.logprobs"],
            },
        }
    with connect(ws_url(base_url, "?intent=transcription"), additional_headers=headers) as ws:
        events = [recv(ws)]
        ws.send(json.dumps(update))
        ws.send(json.dumps({"type": "response.create"}))  # refused: an error event
        ws.send(append(bytes(4800) + tone(600) + bytes(14400)))  # speech, then 300 ms of silence
        events += until(ws, COMPLETED)
    kinds = [e["type"] for e in events]
    expected = ["error", "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"]
    expected += ["input_audio_buffer.committed", *ITEM_EVENTS[beta], DELTA, COMPLETED]
    assert kinds[2:] == expected[:-2] + [DELTA] * (len(kinds) - len(expected) - 1) + [COMPLETED], kinds
    for event in events:
        if event["type"] == "transcription_session.created":  # beta's, which the SDK does not type
            continue
        if event["type"] == "transcription_session.updated":
            # The SDK's type requires the client secret its docs say an update over the socket omits.
            assert "client_secret" not in event["session"]
            secret = {"value": "ek_x", "expires_at": 1}
            event = {**event, "session": {**event["session"], "client_secret": secret}}
        conforms(types[event["type"]], event)
