"""Chat completions with ``modalities: ["text", "audio"]``: ``message.audio`` holds real audio of the text."""

from __future__ import annotations

import base64
import io
import time
import wave

import pytest

pytestmark = pytest.mark.integration

MESSAGES = [{"role": "user", "content": "Tell me a short story."}]
#: Most seconds of speech in one chat completion: gpt-4o-audio-preview's 16,384 output tokens at 20
#: audio tokens a second; in tokens, 819.2 s at 15 characters a second and 6.75 characters a token.
MAX_SECONDS = 819.2
TOKEN_CAP = 1820
AUDIO = {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}


def spoken_seconds(transcript: str) -> float:
    """The speech rule of ``/v1/audio/speech`` at speed 1 (README: max(0.25, characters / 15))."""
    return max(len(transcript) / 15, 0.25)


def wav_seconds(data: str) -> float:
    with wave.open(io.BytesIO(base64.b64decode(data))) as w:
        return w.getnframes() / w.getframerate()


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
    assert wav_seconds(audio.data) == pytest.approx(spoken_seconds(audio.transcript), abs=0.01)
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


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"n": 8, "max_tokens": 16384, "ignore_eos": True}, "max_tokens"),
        ({"n": 1, "max_tokens": 16384, "ignore_eos": True}, "max_tokens"),
        ({"n": 128, "max_tokens": 15, "ignore_eos": True}, "max_tokens"),
        ({"n": 2, "min_tokens": 1000}, "min_tokens"),
    ],
)
def test_speech_past_the_cap_is_refused_before_any_audio(http, extra, param):
    # Unbounded, n=8 x 16384 tokens was 3.3 GB of base64 WAV: the worker died allocating it.
    body = {"model": "gpt-4o-audio-preview", "messages": MESSAGES, **AUDIO, **extra}
    start = time.monotonic()
    r = http.post("/v1/chat/completions", json=body)
    assert time.monotonic() - start < 2
    assert r.status_code == 400, r.text[:300]
    error = r.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, "invalid_value")
    assert f"more than the {TOKEN_CAP} tokens ({MAX_SECONDS} seconds of audio)" in error["message"]
    assert http.get("/health").status_code == 200
    body.update(n=1, max_tokens=TOKEN_CAP, ignore_eos=True, min_tokens=0)
    assert http.post("/v1/chat/completions", json=body).status_code == 200


def test_echoed_speech_past_the_cap_is_refused(http):
    # Denser than generated prose: 1001 tokens that would speak for 866.7 s.
    words = "categorizing " * 1000
    r = http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": words}], **AUDIO},
        headers={"x-fakeai-mode": "echo"},
    )
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"]["param"] == "messages"
    assert "would last 866.7 seconds, more than the 819.2 seconds" in r.json()["error"]["message"]


def test_natural_lengths_stop_where_the_speech_cap_is_reached(start_server):
    import openai

    with (
        start_server("--ttft", "0", "--itl", "0", "--output-length-distribution", "fixed:5000") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client,
    ):
        r = client.chat.completions.create(
            model="gpt-4o-audio-preview", messages=MESSAGES, n=2, max_tokens=16384, **AUDIO
        )
    assert [c.finish_reason for c in r.choices] == ["length", "length"]
    assert r.usage.completion_tokens == TOKEN_CAP
    seconds = [wav_seconds(c.message.audio.data) for c in r.choices]
    for choice, s in zip(r.choices, seconds, strict=True):
        assert choice.message.content is None and choice.message.audio.id.startswith("audio_")
        assert s == pytest.approx(spoken_seconds(choice.message.audio.transcript), abs=0.01)
    assert 600 < sum(seconds) <= MAX_SECONDS
