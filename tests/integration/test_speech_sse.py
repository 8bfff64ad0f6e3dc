"""``POST /v1/audio/speech`` with ``stream_format: "sse"`` through the openai SDK: ``speech.audio.delta``
events whose base64 pieces join into the very file ``stream_format: "audio"`` answers, then
``speech.audio.done`` with the token usage; paced at the inter-token latency; refused for tts-1."""

from __future__ import annotations

import base64
import io
import json
import math
import time
import wave

import pytest

pytestmark = pytest.mark.integration

TEXT = "Streaming speech arrives as server-sent events, a base64 piece of the file at a time. " * 2
RATE = 24_000


def parse_events(body: bytes) -> list[dict]:
    """The JSON payloads of an SSE body's ``data:`` lines."""
    chunks = [c for c in body.decode().split("\n\n") if c.strip()]
    assert all(c.startswith("data: ") for c in chunks), chunks[:2]
    return [json.loads(c[len("data: ") :]) for c in chunks]


def stream(client, fmt: str, text: str = TEXT, model: str = "gpt-4o-mini-tts", **kw):
    with client.audio.speech.with_streaming_response.create(
        model=model, voice="alloy", input=text, response_format=fmt, stream_format="sse", **kw
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        body = b"".join(r.iter_bytes())
    events = parse_events(body)
    deltas, done = events[:-1], events[-1]
    assert deltas and all(e["type"] == "speech.audio.delta" and set(e) == {"type", "audio"} for e in deltas)
    assert done["type"] == "speech.audio.done" and set(done) == {"type", "usage"}
    return b"".join(base64.b64decode(e["audio"]) for e in deltas), deltas, done


def test_sse_wav_joins_into_the_same_file_with_usage(client):
    audio, deltas, done = stream(client, "wav")
    plain = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=TEXT, response_format="wav"
    ).content
    assert audio == plain
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        seconds = w.getnframes() / RATE
    assert seconds == pytest.approx(len(TEXT) / 15, abs=0.01)
    usage = done["usage"]
    assert set(usage) == {"input_tokens", "output_tokens", "total_tokens"}
    assert usage["output_tokens"] == math.ceil(seconds * 20)  # 20 audio tokens a second
    assert 20 < usage["input_tokens"] < 60
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert len(deltas) == math.ceil(usage["output_tokens"] / 2)  # 100 ms of speech a delta


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "pcm"])
def test_sse_every_format_is_the_audio_file(client, fmt):
    audio, _, done = stream(client, fmt)
    plain = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=TEXT, response_format=fmt
    ).content
    assert audio == plain
    magic = {"mp3": b"\xff", "opus": b"OggS", "aac": b"\xff", "flac": b"fLaC"}.get(fmt)
    if magic:
        assert audio.startswith(magic)
    else:
        assert len(audio) == round(len(TEXT) / 15 * RATE) * 2  # raw 16-bit samples
    assert done["usage"]["output_tokens"] == math.ceil(len(TEXT) / 15 * 20)


def test_sse_usage_counts_instructions_and_speed(client):
    _, _, plain = stream(client, "pcm")
    _, _, more = stream(client, "pcm", instructions="Speak like a cheerful pirate.", speed=2.0)
    assert more["usage"]["input_tokens"] > plain["usage"]["input_tokens"]
    assert more["usage"]["output_tokens"] == math.ceil(plain["usage"]["output_tokens"] / 2)


def test_sse_via_create_and_custom_voice(client):
    r = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice={"id": "voice_123"}, input="Hello.", stream_format="sse"
    )
    events = parse_events(r.content)
    assert events[-1]["type"] == "speech.audio.done"
    assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1])[:1] == b"\xff"  # mp3


def test_long_input_streams_from_a_thread(client):
    text = "Long inputs are synthesised on a worker thread. " * 30  # 1470 characters
    audio, deltas, _ = stream(client, "pcm", text=text, speed=4.0)
    assert len(audio) == round(len(text) / 60 * RATE) * 2
    assert len(deltas) > 100


def test_sse_is_paced_at_two_inter_token_latencies_a_delta(client):
    began = time.monotonic()
    _, deltas, _ = stream(client, "pcm", extra_headers={"x-fakeai-ttft-ms": "0", "x-fakeai-itl-ms": "10"})
    elapsed = time.monotonic() - began
    assert elapsed >= (len(deltas) - 1) * 2 * 0.010 * 0.9


@pytest.mark.parametrize("model", ["tts-1", "tts-1-hd"])
def test_sse_is_refused_for_tts_1(http, model):
    r = http.post(
        "/v1/audio/speech",
        json={"model": model, "voice": "alloy", "input": "hi", "stream_format": "sse"},
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        "stream_format",
        "unsupported_value",
    )
    assert model in error["message"] and "sse" in error["message"]


@pytest.mark.parametrize(
    "body, param",
    [
        ({"stream_format": "chunks"}, "stream_format"),
        ({"stream_format": "sse", "response_format": "ogg"}, "response_format"),
        ({"stream_format": "sse", "voice": "robot"}, "voice"),
        ({"stream_format": "sse", "input": ""}, "input"),
    ],
)
def test_bad_sse_requests(http, body, param):
    r = http.post(
        "/v1/audio/speech", json={"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "hi", **body}
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == param
