"""``/v1/audio/transcriptions`` and ``/translations`` through the openai SDK: durations read from the
uploaded file, transcripts sized to them, every response format well-formed, token usage for the
gpt-4o models, streamed transcripts."""

from __future__ import annotations

import io
import re
import time
import wave
from itertools import pairwise

import httpx
import openai
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")]


def wav_file(seconds: float, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate))
    return buf.getvalue()


def transcribe(client, data: bytes, name: str = "a.wav", **kw):
    return client.audio.transcriptions.create(model="whisper-1", file=(name, data), **kw)


def test_verbose_json_duration_segments_and_words(client):
    r = transcribe(
        client,
        wav_file(12.5),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="fr",
    )
    assert r.duration == pytest.approx(12.5) and r.language == "french"
    assert 20 < len(r.text.split()) < 60  # about 150 words a minute
    segments, words = r.segments, r.words
    assert segments[0].start == 0 and segments[-1].end == pytest.approx(12.5)
    assert "".join(s.text for s in segments) == r.text
    for a, b in pairwise(segments):
        assert a.start <= a.end <= b.start + 1e-6
    assert [w.word for w in words] == re.findall(r"[A-Za-z0-9]+", r.text)
    for a, b in pairwise(words):
        assert a.start <= a.end <= b.start + 1e-6
    assert all(s.tokens and -1 < s.avg_logprob < 0 for s in segments)
    assert r.usage.seconds == 13


def test_text_length_follows_duration_and_same_file_same_text(client):
    short = transcribe(client, wav_file(2)).text
    long = transcribe(client, wav_file(60)).text
    assert len(long) > 10 * len(short)
    assert transcribe(client, wav_file(60)).text == long


def test_srt_and_vtt_structure(client):
    srt = transcribe(client, wav_file(30), response_format="srt")
    cues = srt.strip().split("\n\n")
    assert len(cues) >= 2
    for i, cue in enumerate(cues, 1):
        number, times, text = cue.split("\n", 2)
        assert int(number) == i and text.strip()
        assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", times)
    assert cues[-1].split("\n")[1].endswith("00:00:30,000")
    vtt = transcribe(client, wav_file(30), response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n")
    times = re.findall(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})$", vtt, re.MULTILINE)
    assert len(times) == len(cues) and times[-1][1] == "00:00:30.000"
    text = transcribe(client, wav_file(30), response_format="text")
    assert text.strip() == transcribe(client, wav_file(30)).text


def test_durations_of_flac_mp3_and_unknown_containers(client, http):
    flac = client.audio.speech.create(
        model="tts-1", voice="echo", input="x" * 75, response_format="flac"
    ).content
    mp3 = client.audio.speech.create(
        model="tts-1", voice="echo", input="x" * 150, response_format="mp3"
    ).content
    assert transcribe(client, flac, "a.flac", response_format="verbose_json").duration == pytest.approx(5.0)
    assert transcribe(client, mp3, "a.mp3", response_format="verbose_json").duration == pytest.approx(
        10.0, abs=0.1
    )
    r = http.post(
        "/v1/audio/transcriptions",
        data={"model": "whisper-1", "response_format": "verbose_json"},
        files={"file": ("a.m4a", b"\x00" * 48_000)},
    )
    assert r.json()["duration"] == pytest.approx(3.0)
    assert r.headers["x-fakeai-duration-source"] == "estimate"


def test_translations_and_gpt4o_json(client):
    r = client.audio.translations.create(
        model="whisper-1", file=("a.wav", wav_file(5)), response_format="verbose_json"
    )
    assert r.duration == pytest.approx(5) and r.segments
    assert client.audio.translations.create(model="whisper-1", file=("a.wav", wav_file(5))).text
    r = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", wav_file(5)))
    assert r.text


@pytest.mark.parametrize(
    "data, files, param",
    [
        ({"model": "whisper-1"}, {}, "file"),
        ({}, {"file": ("a.wav", wav_file(1))}, "model"),
        ({"model": "whisper-1"}, {"file": ("a.txt", b"hello")}, "file"),
        ({"model": "whisper-1"}, {"file": ("a.wav", b"")}, "file"),
        (
            {"model": "whisper-1", "response_format": "xml"},
            {"file": ("a.wav", wav_file(1))},
            "response_format",
        ),
        (
            {"model": "gpt-4o-transcribe", "response_format": "srt"},
            {"file": ("a.wav", wav_file(1))},
            "response_format",
        ),
        ({"model": "whisper-1", "temperature": "2"}, {"file": ("a.wav", wav_file(1))}, "temperature"),
        ({"model": "whisper-1", "language": "klingon"}, {"file": ("a.wav", wav_file(1))}, "language"),
        ({"model": "gpt-4o-transcribe", "stream": "maybe"}, {"file": ("a.wav", wav_file(1))}, "stream"),
        ({"model": "gpt-4o-transcribe", "stream": "1"}, {"file": ("a.wav", wav_file(1))}, "stream"),
        ({"model": "gpt-4o-transcribe", "include[]": "tokens"}, {"file": ("a.wav", wav_file(1))}, "include"),
        ({"model": "whisper-1", "include[]": "logprobs"}, {"file": ("a.wav", wav_file(1))}, "include"),
        (
            {"model": "gpt-4o-transcribe", "include[]": "logprobs", "response_format": "text"},
            {"file": ("a.wav", wav_file(1))},
            "include",
        ),
        (
            {"model": "whisper-1", "timestamp_granularities[]": "word"},
            {"file": ("a.wav", wav_file(1))},
            "timestamp_granularities",
        ),
    ],
)
def test_bad_transcription_requests(http, data, files, param):
    r = http.post("/v1/audio/transcriptions", data=data, files=files or {"x": ("x", b"")})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_bad_translation_upload_via_sdk(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.audio.translations.create(model="whisper-1", file=("notes.pdf", b"%PDF-1.4"))
    assert err.value.body["param"] == "file"


def flac_header(rate: int, total: int) -> bytes:
    """A 42-byte FLAC: STREAMINFO (last metadata block) and no audio frames."""
    info = (rate << 44) | (15 << 36) | total
    return (
        b"fLaC\x80\x00\x00\x22" + b"\x10\x00\x10\x00" + b"\x00" * 6 + info.to_bytes(8, "big") + b"\x00" * 16
    )


def ogg_opus(granule: int) -> bytes:
    return (
        b"OggS\x00\x02"
        + b"\x00" * 22
        + b"OpusHead"
        + b"OggS\x00\x04"
        + granule.to_bytes(8, "little")
        + b"\x00" * 16
    )


def wav_at_byte_rate(seconds_of_data: float, byte_rate: int) -> bytes:
    data = bytearray(wav_file(seconds_of_data))
    data[28:32] = byte_rate.to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize(
    "name, data",
    [
        ("a.flac", flac_header(1, 2**36 - 1)),  # 2^36-1 samples at 1 Hz in 42 bytes
        ("a.flac", flac_header(44_100, 2**36 - 1)),
        ("a.ogg", ogg_opus(2**63)),
        ("a.ogg", ogg_opus(2**64 - 2)),
        ("a.ogg", ogg_opus(10**7 * 48_000)),  # 10^7 seconds
        ("a.wav", wav_at_byte_rate(2, 1)),  # 64,000 bytes of data at 1 byte a second
    ],
)
def test_a_lying_audio_header_is_a_400_naming_file(client, http, name, data):
    with pytest.raises(openai.BadRequestError) as err:
        transcribe(client, data, name)
    assert err.value.status_code == 400
    assert err.value.body["param"] == "file" and err.value.body["type"] == "invalid_request_error"
    assert "header claims" in err.value.body["message"]
    assert http.get("/health").status_code == 200  # the server is still up


def test_token_usage_for_gpt4o_models_and_duration_for_whisper(client):
    audio = wav_file(12.5)
    for model in ("gpt-4o-transcribe", "gpt-4o-mini-transcribe"):
        r = client.audio.transcriptions.create(model=model, file=("a.wav", audio))
        u = r.usage
        assert u.type == "tokens"
        assert u.input_tokens == 125  # 10 audio tokens a second, rounded up
        assert u.input_token_details.audio_tokens == 125 and u.input_token_details.text_tokens == 0
        assert 30 <= u.output_tokens <= 40  # 3 tokens a second of generated text
        assert u.total_tokens == u.input_tokens + u.output_tokens
    r = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.wav", audio), prompt="Speakers: Ana and Bo."
    )
    assert r.usage.input_token_details.text_tokens > 0
    assert r.usage.input_tokens == 125 + r.usage.input_token_details.text_tokens
    r = transcribe(client, audio)
    assert r.usage.type == "duration" and r.usage.seconds == 13


def stream_events(client, audio: bytes, **kw):
    stream = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.wav", audio), stream=True, **kw
    )
    events = list(stream)
    assert events and all(e.type == "transcript.text.delta" for e in events[:-1])
    assert events[-1].type == "transcript.text.done"
    return events[:-1], events[-1]


def test_stream_deltas_join_into_the_done_text_and_the_non_streamed_text(client):
    audio = wav_file(20)
    deltas, done = stream_events(client, audio)
    plain = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", audio))
    assert len(deltas) > 20
    assert "".join(d.delta for d in deltas) == done.text == plain.text
    assert all(d.logprobs is None for d in deltas)
    assert done.usage.type == "tokens"
    assert done.usage.model_dump() == plain.usage.model_dump()
    assert done.usage.input_tokens == 200


def test_stream_logprobs_with_include(client):
    audio = wav_file(6)
    deltas, done = stream_events(client, audio, include=["logprobs"])
    for d in deltas:
        assert [lp.token for lp in d.logprobs] == [d.delta]
        assert d.logprobs[0].bytes == list(d.delta.encode())
        assert d.logprobs[0].logprob <= 0
    assert [lp.model_dump() for lp in done.logprobs] == [d.logprobs[0].model_dump() for d in deltas]
    plain = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.wav", audio), include=["logprobs"]
    )
    assert plain.text == done.text
    assert [lp.logprob for lp in plain.logprobs] == [lp.logprob for lp in done.logprobs]


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
def test_whisper_and_translations_ignore_stream(http, path):
    """As OpenAI documents it: whisper-1 and translations ignore ``stream`` and answer the plain
    object; a value that is not a boolean is still a 400."""

    def post(stream: str) -> httpx.Response:
        data = {"model": "whisper-1", "stream": stream}
        return http.post(path, data=data, files={"file": ("a.wav", wav_file(2))})

    r = post("true")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
    assert r.json()["text"] and r.json().get("usage", {"type": "duration"})["type"] == "duration"
    bad = post("maybe")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "stream"


def test_stream_is_paced_at_the_inter_token_latency(client, http):
    audio = wav_file(10)
    began = time.monotonic()
    deltas, done = stream_events(client, audio, extra_headers={"x-fakeai-itl-ms": "10"})
    elapsed = time.monotonic() - began
    assert elapsed >= (len(deltas) - 1) * 0.010 * 0.9
    with http.stream(
        "POST",
        "/v1/audio/transcriptions",
        data={"model": "gpt-4o-mini-transcribe", "stream": "true"},
        files={"file": ("a.wav", audio)},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-fakeai-duration-source"] == "wav"
        lines = [line for line in r.iter_lines() if line]
    assert len(lines) == len(deltas) + 1 and lines[-1].startswith('data: {"type":"transcript.text.done"')


def test_long_audio_streams_the_same_text(client):
    audio = wav_file(700, rate=1000)  # past THREAD_FROM_SECONDS: rendered on a thread
    deltas, done = stream_events(client, audio, include=["logprobs"])
    plain = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", audio))
    assert len(deltas) > 1500
    assert "".join(d.delta for d in deltas) == done.text == plain.text
    assert done.usage.input_tokens == 7000 and len(done.logprobs) == len(deltas)
