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


def ogg_pages(data: bytes) -> list[tuple[int, int, list[bytes]]]:
    """Walk an Ogg stream's pages: ``(header_type, granule, packets completed on the page)``."""
    pages, pos, partial = [], 0, b""
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS" and data[pos + 4] == 0, f"no page at byte {pos}"
        header_type = data[pos + 5]
        granule = int.from_bytes(data[pos + 6 : pos + 14], "little")
        nseg = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + nseg]
        body = pos + 27 + nseg
        packets = []
        for n in lacing:
            partial += data[body : body + n]
            body += n
            if n < 255:
                packets.append(partial)
                partial = b""
        pages.append((header_type, granule, packets))
        pos = body
    return pages


def test_opus_is_ogg_opus_whose_granule_gives_the_duration(client, http):
    r = http.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "opus"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "audio/opus"
    pages = ogg_pages(r.content)
    (head_type, _, [head]), (_, _, [tags]) = pages[:2]
    assert head_type & 2 and head[:8] == b"OpusHead" and head[8] == 1 and head[9] == 1  # BOS, v1, mono
    pre_skip = int.from_bytes(head[10:12], "little")
    assert int.from_bytes(head[12:16], "little") == RATE
    assert tags[:8] == b"OpusTags"
    audio = [p for _, _, packets in pages[2:] for p in packets]
    # 20 ms packets (TOC config of a 20 ms SILK/hybrid/CELT frame, one frame each).
    assert all(p[0] >> 3 in {1, 5, 9, 13, 15, 19, 23, 27, 31} and p[0] & 3 == 0 for p in audio)
    last_type, last_granule, _ = pages[-1]
    assert last_type & 4  # EOS
    assert (last_granule - pre_skip) / 48_000 == pytest.approx(len(TEXT) / 15, abs=0.001)
    assert len(audio) * 0.02 >= len(TEXT) / 15
    assert speak(client, "opus") == r.content  # deterministic, and the SDK takes it


def adts_frames(data: bytes) -> list[tuple[int, int]]:
    """``(sampling_frequency_index, channel_configuration)`` of each ADTS frame, walking the headers."""
    frames, pos = [], 0
    while pos < len(data):
        h = data[pos : pos + 7]
        assert h[0] == 0xFF and h[1] & 0xF6 == 0xF0, f"no ADTS sync at byte {pos}"
        assert (h[2] >> 6) + 1 == 2  # AAC-LC
        frames.append(((h[2] >> 2) & 0xF, ((h[2] & 1) << 2) | (h[3] >> 6)))
        pos += ((h[3] & 3) << 11) | (h[4] << 3) | (h[5] >> 5)
    assert pos == len(data)
    return frames


def test_aac_is_adts_frames_for_the_duration(client, http):
    r = http.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "aac"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "audio/aac"
    frames = adts_frames(r.content)
    assert set(frames) == {(6, 1)}  # 24 kHz, mono
    seconds = len(frames) * 1024 / RATE
    assert len(TEXT) / 15 <= seconds < len(TEXT) / 15 + 0.2  # whole frames plus the encoder's delay
    # About 64 kbit/s, so real coded audio rather than silence (silent frames are a few bytes).
    assert len(r.content) * 8 / seconds == pytest.approx(64_000, rel=0.25)
    assert speak(client, "aac") == r.content


def test_opus_and_aac_transcribe_with_their_own_durations(client, http):
    # OpenAI takes no .aac or .opus upload names: such files travel as .ogg and .m4a.
    for fmt, name, source in [("opus", "a.ogg", "ogg"), ("aac", "a.m4a", "aac")]:
        r = http.post(
            "/v1/audio/transcriptions",
            data={"model": "whisper-1", "response_format": "verbose_json"},
            files={"file": (name, speak(client, fmt, text="x" * 150))},
        )
        assert r.headers["x-fakeai-duration-source"] == source
        # Opus is exact (pre-skip and end trimming); ADTS counts whole frames and the encoder's delay.
        assert 10.0 <= r.json()["duration"] < (10.001 if fmt == "opus" else 10.2)


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
