"""``gpt-4o-transcribe-diarize`` through the openai SDK: ``diarized_json`` segments with speakers
(``A``, ``B``... or the known speakers' names), ordered, non-overlapping and within the audio; the
same in a stream of ``transcript.text.delta`` / ``transcript.text.segment`` / ``transcript.text.done``
events; ``chunking_strategy``; and the parameters the diarize model refuses."""

from __future__ import annotations

import base64
import io
import wave
from itertools import pairwise

import pydantic
import pytest
from openai.types.audio import TranscriptionDiarized

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")]

MODEL = "gpt-4o-transcribe-diarize"


def wav_file(seconds: float, rate: int = 16_000, fill: bytes = b"\x01\x00") -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(fill * int(seconds * rate))
    return buf.getvalue()


def data_url(seconds: float, rate: int = 16_000) -> str:
    return "data:audio/wav;base64," + base64.b64encode(wav_file(seconds, rate)).decode()


def diarize(client, audio: bytes, **kw):
    return client.audio.transcriptions.create(
        model=MODEL, file=("a.wav", audio), response_format="diarized_json", chunking_strategy="auto", **kw
    )


def check_segments(segments, duration: float, text: str) -> None:
    assert segments and segments[0].start >= 0
    for a, b in pairwise(segments):
        assert a.start <= a.end <= b.start + 1e-9  # ordered, non-overlapping
    assert segments[-1].end <= duration + 1e-9
    assert segments[-1].end == pytest.approx(duration, abs=0.01)
    assert "".join(s.text for s in segments) == text
    assert [s.id for s in segments] == [f"seg_{i}" for i in range(len(segments))]
    assert all(s.type == "transcript.text.segment" for s in segments)


def test_diarized_json_segments_and_speakers(client):
    audio = wav_file(45)
    r = diarize(client, audio)
    assert isinstance(r, TranscriptionDiarized)
    assert r.task == "transcribe" and r.duration == pytest.approx(45)
    check_segments(r.segments, 45, r.text)
    speakers = [s.speaker for s in r.segments]
    first_seen = list(dict.fromkeys(speakers))
    assert first_seen == ["A", "B", "C"][: len(first_seen)] and len(first_seen) >= 2
    plain = client.audio.transcriptions.create(model=MODEL, file=("a.wav", audio), chunking_strategy="auto")
    assert plain.text == r.text  # the same transcript as json
    assert r.usage.type == "tokens" and r.usage.input_tokens == 450
    assert r.usage.model_dump() == plain.usage.model_dump()
    assert diarize(client, audio).model_dump() == r.model_dump()  # deterministic


def test_diarized_json_is_the_sdk_type_strictly(http):
    r = http.post(
        "/v1/audio/transcriptions",
        data={"model": MODEL, "response_format": "diarized_json"},
        files={"file": ("a.wav", wav_file(12))},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    pydantic.TypeAdapter(TranscriptionDiarized).validate_python(body, strict=True)
    assert set(body) == {"task", "duration", "text", "segments", "usage"}
    assert all(set(s) == {"type", "id", "start", "end", "text", "speaker"} for s in body["segments"])


def test_known_speakers_label_the_segments(client):
    names = ["agent", "customer"]
    r = diarize(
        client,
        wav_file(60),
        known_speaker_names=names,
        known_speaker_references=[data_url(3), data_url(8)],  # the 8 s one is past 64 KiB of base64
    )
    speakers = [s.speaker for s in r.segments]
    assert set(speakers) <= set(names) and speakers[0] == "agent"
    check_segments(r.segments, 60, r.text)


def test_json_and_text_formats_and_server_vad(client):
    audio = wav_file(40)
    vad = {"type": "server_vad", "threshold": 0.4, "prefix_padding_ms": 300, "silence_duration_ms": 500}
    r = client.audio.transcriptions.create(model=MODEL, file=("a.wav", audio), chunking_strategy=vad)
    assert r.text and r.usage.type == "tokens"
    text = client.audio.transcriptions.create(
        model=MODEL, file=("a.wav", audio), response_format="text", chunking_strategy="auto"
    )
    assert text.strip() == r.text
    short = client.audio.transcriptions.create(model=MODEL, file=("a.wav", wav_file(10)))
    assert short.text  # no chunking_strategy needed up to 30 s


def test_stream_of_deltas_segments_and_done(client):
    audio = wav_file(45)
    events = list(
        client.audio.transcriptions.create(
            model=MODEL,
            file=("a.wav", audio),
            response_format="diarized_json",
            chunking_strategy="auto",
            stream=True,
        )
    )
    plain = diarize(client, audio)
    types = [e.type for e in events]
    assert types[-1] == "transcript.text.done" and "transcript.text.done" not in types[:-1]
    segments = [e for e in events if e.type == "transcript.text.segment"]
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    assert [s.model_dump() for s in segments] == [s.model_dump() for s in plain.segments]
    assert "".join(d.delta for d in deltas) == events[-1].text == plain.text
    # each segment follows its own deltas, which name it
    current: list[str] = []
    index = 0
    for e in events[:-1]:
        if e.type == "transcript.text.delta":
            assert e.segment_id == f"seg_{index}"
            current.append(e.delta)
        else:
            assert e.id == f"seg_{index}" and "".join(current) == e.text
            current, index = [], index + 1
    assert not current and index == len(segments)
    assert events[-1].usage.model_dump() == plain.usage.model_dump()


def test_stream_of_json_format_has_no_segments(client):
    events = list(
        client.audio.transcriptions.create(
            model=MODEL, file=("a.wav", wav_file(8)), stream=True, response_format="json"
        )
    )
    assert {e.type for e in events} == {"transcript.text.delta", "transcript.text.done"}


OK_FILE = {"file": ("a.wav", wav_file(5))}


@pytest.mark.parametrize(
    "data, param",
    [
        ({"model": "gpt-4o-transcribe", "response_format": "diarized_json"}, "response_format"),
        ({"model": "whisper-1", "response_format": "diarized_json"}, "response_format"),
        ({"model": MODEL, "response_format": "verbose_json"}, "response_format"),
        ({"model": MODEL, "response_format": "srt"}, "response_format"),
        ({"model": MODEL, "prompt": "Speakers: Ana and Bo."}, "prompt"),
        ({"model": MODEL, "include[]": "logprobs"}, "include"),
        ({"model": MODEL, "timestamp_granularities[]": "segment"}, "timestamp_granularities"),
        ({"model": MODEL, "chunking_strategy": "manual"}, "chunking_strategy"),
        ({"model": MODEL, "chunking_strategy": '{"type": "client_vad"}'}, "chunking_strategy"),
        (
            {"model": MODEL, "chunking_strategy[type]": "server_vad", "chunking_strategy[threshold]": "2"},
            "chunking_strategy",
        ),
        (
            {"model": MODEL, "chunking_strategy[type]": "server_vad", "chunking_strategy[x]": "1"},
            "chunking_strategy",
        ),
        ({"model": "gpt-4o-transcribe", "chunking_strategy": "[]"}, "chunking_strategy"),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": list("abcde"),
                "known_speaker_references[]": [data_url(2)] * 5,
            },
            "known_speaker_names",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a", "b"],
                "known_speaker_references[]": [data_url(2)],
            },
            "known_speaker_references",
        ),
        ({"model": MODEL, "known_speaker_references[]": [data_url(2)]}, "known_speaker_names"),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a", "a"],
                "known_speaker_references[]": [data_url(2)] * 2,
            },
            "known_speaker_names",
        ),
        (
            {"model": MODEL, "known_speaker_names[]": [" "], "known_speaker_references[]": [data_url(2)]},
            "known_speaker_names",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a" * 65],
                "known_speaker_references[]": [data_url(2)],
            },
            "known_speaker_names",
        ),
        (
            {"model": MODEL, "known_speaker_names[]": ["a"], "known_speaker_references[]": [data_url(0.5)]},
            "known_speaker_references",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a"],
                "known_speaker_references[]": [data_url(12, 8000)],
            },
            "known_speaker_references",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a"],
                "known_speaker_references[]": ["https://x/a.wav"],
            },
            "known_speaker_references",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a"],
                "known_speaker_references[]": ["data:text/plain;base64,aGk="],
            },
            "known_speaker_references",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a"],
                "known_speaker_references[]": ["data:audio/wav;base64,!!"],
            },
            "known_speaker_references",
        ),
        (
            {
                "model": MODEL,
                "known_speaker_names[]": ["a"],
                "known_speaker_references[]": ["data:audio/wav;base64,"],
            },
            "known_speaker_references",
        ),
        (
            {
                "model": "gpt-4o-transcribe",
                "known_speaker_names[]": ["a"],
                "known_speaker_references[]": [data_url(2)],
            },
            "known_speaker_names",
        ),
    ],
)
def test_bad_diarize_requests(http, data, param):
    r = http.post("/v1/audio/transcriptions", data=data, files=OK_FILE)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param, error


def test_long_audio_needs_a_chunking_strategy(http):
    r = http.post("/v1/audio/transcriptions", data={"model": MODEL}, files={"file": ("a.wav", wav_file(31))})
    assert r.status_code == 400 and r.json()["error"]["param"] == "chunking_strategy"
    assert "30 seconds" in r.json()["error"]["message"]


def test_diarized_json_is_not_a_translation_format(http):
    r = http.post(
        "/v1/audio/translations",
        data={"model": "whisper-1", "response_format": "diarized_json"},
        files=OK_FILE,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "response_format"


def test_the_model_is_listed(client):
    assert client.models.retrieve(MODEL).id == MODEL
