"""Chat completions with ``modalities: ["text", "audio"]``: ``message.audio`` holds real audio of the text."""

from __future__ import annotations

import base64
import io
import time
import wave

import pytest

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Tell me a short story."}]


def test_message_audio_is_a_wav_of_the_transcript(client):
    r = client.chat.completions.create(
        model="gpt-4o-audio-preview",
        messages=MESSAGES,
        max_tokens=40,
        seed=3,
        modalities=["text", "audio"],
        audio={"voice": "alloy", "format": "wav"},
    )
    message = r.choices[0].message
    assert message.content is None
    audio = message.audio
    assert audio.id.startswith("audio_") and audio.expires_at > time.time()
    assert len(audio.transcript) > 20
    with wave.open(io.BytesIO(base64.b64decode(audio.data))) as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds == pytest.approx(max(len(audio.transcript) / 15, 0.25), abs=0.01)
    text_only = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=40, seed=3)
    assert text_only.choices[0].message.content == audio.transcript


@pytest.mark.parametrize("fmt, magic", [("mp3", b"\xff"), ("flac", b"fLaC"), ("pcm16", b"")])
def test_other_formats(client, fmt, magic):
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        max_tokens=10,
        n=2,
        modalities=["text", "audio"],
        audio={"voice": "nova", "format": fmt},
    )
    for choice in r.choices:
        data = base64.b64decode(choice.message.audio.data)
        assert data.startswith(magic) and len(data) > 1000


def test_streamed_audio_deltas(client):
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        max_tokens=12,
        seed=5,
        stream=True,
        modalities=["text", "audio"],
        audio={"voice": "echo", "format": "wav"},
    )
    transcript, data, ids = "", "", set()
    for chunk in stream:
        audio = chunk.choices[0].delta.audio if chunk.choices else None
        if audio:
            assert chunk.choices[0].delta.content is None
            transcript += audio.transcript or ""
            data += audio.data or ""
            ids.update([audio.id] if audio.id else [])
    assert len(ids) == 1 and transcript
    assert base64.b64decode(data)[:4] == b"RIFF"
    whole = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        max_tokens=12,
        seed=5,
        modalities=["text", "audio"],
        audio={"voice": "echo", "format": "wav"},
    )
    assert whole.choices[0].message.audio.transcript == transcript


@pytest.mark.parametrize(
    "extra, param, code",
    [
        ({"modalities": ["text", "audio"]}, "audio", "missing_required_parameter"),
        (
            {"modalities": ["text", "audio"], "audio": {"voice": "robot", "format": "wav"}},
            "audio.voice",
            "invalid_value",
        ),
        (
            {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "ogg"}},
            "audio.format",
            "unsupported_value",
        ),
        (
            {"modalities": ["text", "audio"], "audio": {"voice": "alloy"}},
            "audio.format",
            "missing_required_parameter",
        ),
    ],
)
def test_bad_audio_requests(http, extra, param, code):
    r = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES, **extra})
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["param"], r.json()["error"]["code"]) == (param, code)
