"""``POST /v1/audio/speech`` through the openai SDK: real files whose duration follows the text."""

from __future__ import annotations

import io
import struct
import wave

import pytest

pytestmark = pytest.mark.integration

TEXT = (
    "The quick brown fox jumps over the lazy dog while the gateway keeps counting tokens. " * 2
)  # 170 chars
RATE = 24_000


def speak(client, fmt: str, text: str = TEXT, **kw) -> bytes:
    return client.audio.speech.create(
        model="tts-1", voice="alloy", input=text, response_format=fmt, **kw
    ).content


def test_wav_duration_follows_text_and_speed(client):
    for speed, seconds in [(1.0, len(TEXT) / 15), (2.0, len(TEXT) / 30)]:
        data = speak(client, "wav", speed=speed)
        assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
        with wave.open(io.BytesIO(data)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
            assert w.getnframes() / RATE == pytest.approx(seconds, abs=0.01)
            frames = w.readframes(w.getnframes())
        samples = struct.unpack(f"<{len(frames) // 2}h", frames)
        assert sum(abs(s) > 2000 for s in samples) > len(samples) / 5  # not silence


def test_long_input_is_synthesised_off_the_event_loop(client):
    text = "Long inputs are synthesised on a worker thread. " * 30  # 1470 characters
    data = speak(client, "pcm", text=text, speed=4.0)
    assert len(data) == round(len(text) / 60 * RATE) * 2


def test_pcm_is_raw_samples_of_the_same_audio(client):
    wav = speak(client, "wav")
    assert speak(client, "pcm") == wav[44:]
    assert speak(client, "pcm") == speak(client, "pcm")  # deterministic
    other = client.audio.speech.create(model="tts-1", voice="nova", input=TEXT, response_format="pcm").content
    assert other != wav[44:] and len(other) == len(wav) - 44


def test_flac_streaminfo_counts_the_samples(client):
    data = speak(client, "flac", speed=0.5)
    assert data[:4] == b"fLaC"
    info = int.from_bytes(data[18:26], "big")
    rate, channels, bits, total = (
        info >> 44,
        ((info >> 41) & 7) + 1,
        ((info >> 36) & 31) + 1,
        info & (2**36 - 1),
    )
    assert (rate, channels, bits) == (RATE, 1, 16)
    assert total / rate == pytest.approx(len(TEXT) / 7.5, abs=0.01)
    assert data[42:44] == b"\xff\xf8"  # first frame's sync code


def test_mp3_by_default_with_frames_for_the_duration(client, http):
    r = http.post("/v1/audio/speech", json={"model": "gpt-4o-mini-tts", "voice": "coral", "input": TEXT})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    data = r.content
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0  # MPEG frame sync
    # MPEG-2 Layer III, 64 kbit/s, 24 kHz: 576 samples per frame.
    frames = sum(
        1 for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xF3 and data[i + 2] >> 4 == 8
    )
    assert frames * 576 / RATE == pytest.approx(len(TEXT) / 15, abs=0.2)
    assert speak(client, "mp3")[:2] == data[:2]


def test_custom_voice_and_instructions(client):
    data = client.audio.speech.create(
        model="gpt-4o-mini-tts",
        voice={"id": "voice_123"},
        input="Hello.",
        instructions="Speak calmly.",
        response_format="wav",
    ).content
    assert data[:4] == b"RIFF"


@pytest.mark.parametrize(
    "body, param, code",
    [
        ({"model": "tts-1", "voice": "alloy", "input": ""}, "input", "invalid_value"),
        ({"model": "tts-1", "voice": "alloy", "input": "   "}, "input", "invalid_value"),
        ({"model": "tts-1", "voice": "alloy"}, "input", "missing_required_parameter"),
        ({"model": "tts-1", "voice": "robot", "input": "hi"}, "voice", "invalid_value"),
        ({"model": "tts-1", "input": "hi"}, "voice", "missing_required_parameter"),
        (
            {"model": "tts-1", "voice": "alloy", "input": "hi", "response_format": "opus"},
            "response_format",
            "unsupported_value",
        ),
        (
            {"model": "tts-1", "voice": "alloy", "input": "hi", "response_format": "aac"},
            "response_format",
            "unsupported_value",
        ),
        (
            {"model": "tts-1", "voice": "alloy", "input": "hi", "response_format": "ogg"},
            "response_format",
            "invalid_value",
        ),
        ({"model": "tts-1", "voice": "alloy", "input": "hi", "speed": 5}, "speed", "invalid_value"),
        ({"model": "tts-1", "voice": "alloy", "input": "hi", "speed": 0.1}, "speed", "invalid_value"),
        ({"model": "tts-1", "voice": "alloy", "input": "x" * 4097}, "input", "invalid_value"),
        (
            {"model": "tts-1", "voice": "alloy", "input": "hi", "stream_format": "sse"},
            "stream_format",
            "unsupported_value",
        ),
    ],
)
def test_bad_speech_requests(http, body, param, code):
    r = http.post("/v1/audio/speech", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    if code == "unsupported_value":
        assert body.get("response_format", body.get("stream_format")) in error["message"]
