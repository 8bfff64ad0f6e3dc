"""Chat completions with ``modalities: ["text", "audio"]``: ``message.audio`` holds real audio of the text;
audio in and out is counted in ``usage`` (``prompt_tokens_details`` / ``completion_tokens_details``)."""

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


def spoken_tokens(data: str) -> int:
    """Audio output tokens of a reply's WAV: 20 a second, rounded up (``chat_audio`` rule 5)."""
    with wave.open(io.BytesIO(base64.b64decode(data))) as w:
        return -(-w.getnframes() * 20 // w.getframerate())


def silence(seconds: float, rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV of ``seconds`` of silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * round(seconds * rate))
    return out.getvalue()


def asking(*parts: dict) -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is said here?"}, *parts]}]


def heard_tokens(wav: bytes) -> int:
    """Prompt tokens of an ``input_audio`` WAV: 10 a second of it, rounded up (README: ``input_audio``)."""
    with wave.open(io.BytesIO(wav)) as w:
        return -(-w.getnframes() * 10 // w.getframerate())


HEARD_WAV = silence(2.55)
HEARD = {
    "type": "input_audio",
    "input_audio": {"data": base64.b64encode(HEARD_WAV).decode(), "format": "wav"},
}


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
    # Audio tokens follow the speech, not the file: 20 a second of 15 characters, rounded up (4/3 a
    # character), and 5 for the shortest clip (0.25 s).
    spoken = sum(max(-(-len(c.message.audio.transcript) * 4 // 3), 5) for c in r.choices)
    assert r.usage.completion_tokens_details.audio_tokens == spoken


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
    assert r.usage.completion_tokens_details.text_tokens == TOKEN_CAP
    audio = r.usage.completion_tokens_details.audio_tokens
    assert r.usage.completion_tokens == TOKEN_CAP + audio
    # Each of the two choices rounds up on its own: at most one token past gpt-4o-audio's 16,384.
    assert audio == sum(spoken_tokens(c.message.audio.data) for c in r.choices) <= 16_384 + 1
    seconds = [wav_seconds(c.message.audio.data) for c in r.choices]
    for choice, s in zip(r.choices, seconds, strict=True):
        assert choice.message.content is None and choice.message.audio.id.startswith("audio_")
        assert s == pytest.approx(spoken_seconds(choice.message.audio.transcript), abs=0.01)
    assert 600 < sum(seconds) <= MAX_SECONDS


def test_audio_input_is_prompt_audio_tokens(client):
    heard = client.chat.completions.create(model="gpt-4o", messages=asking(HEARD), max_tokens=5, seed=1)
    text = client.chat.completions.create(model="gpt-4o", messages=asking(), max_tokens=5, seed=1)
    prompt = heard.usage.prompt_tokens_details
    assert prompt.audio_tokens == heard_tokens(HEARD_WAV) == 26  # 2.55 s
    assert heard.usage.prompt_tokens == text.usage.prompt_tokens + prompt.audio_tokens
    assert prompt.text_tokens == text.usage.prompt_tokens
    # No spoken answer: its completion is all text.
    completion = heard.usage.completion_tokens_details
    assert completion.audio_tokens == 0 and completion.text_tokens == heard.usage.completion_tokens == 5
    assert heard.usage.total_tokens == heard.usage.prompt_tokens + heard.usage.completion_tokens


@pytest.mark.parametrize("n", [1, 2])
def test_audio_output_is_completion_audio_tokens(client, n):
    spoken = client.chat.completions.create(
        model="gpt-4o-audio-preview", messages=MESSAGES, max_tokens=40, seed=3, n=n, **AUDIO
    )
    text = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=40, seed=3, n=n)
    usage = spoken.usage
    audio = sum(spoken_tokens(c.message.audio.data) for c in spoken.choices)
    assert audio > 20 * n
    assert usage.completion_tokens_details.audio_tokens == audio
    assert usage.completion_tokens_details.text_tokens == text.usage.completion_tokens
    assert usage.completion_tokens == text.usage.completion_tokens + audio
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens == text.usage.prompt_tokens
    assert (usage.prompt_tokens_details.audio_tokens, usage.prompt_tokens_details.text_tokens) == (
        0,
        usage.prompt_tokens,
    )


def test_text_only_usage_has_no_audio(client, http):
    r = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=8)
    assert r.usage.prompt_tokens_details.audio_tokens == 0
    assert r.usage.completion_tokens_details.audio_tokens == 0
    raw = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 8})
    usage = raw.json()["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
    assert list(usage["completion_tokens_details"]) == [
        "reasoning_tokens",
        "audio_tokens",
        "accepted_prediction_tokens",
        "rejected_prediction_tokens",
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"messages": asking(HEARD)},
        {"messages": MESSAGES, **AUDIO},
        {"messages": asking(HEARD), **AUDIO, "n": 2},
        {"messages": MESSAGES},
    ],
    ids=["audio-in", "audio-out", "audio-in-and-out", "text"],
)
def test_streamed_usage_equals_whole_usage(client, extra):
    body = {"model": "gpt-4o", "max_tokens": 24, "seed": 7, **extra}
    whole = client.chat.completions.create(**body)
    stream = client.chat.completions.create(**body, stream=True, stream_options={"include_usage": True})
    usage = [chunk.usage for chunk in stream if chunk.usage is not None]
    assert len(usage) == 1
    assert usage[0] == whole.usage
