"""Spoken audio files, shared by ``/v1/audio/speech`` and chat completions' audio output.

The Rust core synthesises a speech-like signal (24 kHz, 16-bit mono, 15 characters a second at speed
1) and writes ``wav``, ``flac`` and ``pcm`` itself, ``opus`` as Ogg Opus (libopus, 32 kb/s, 20 ms
packets) and ``aac`` as AAC-LC in ADTS frames (Fraunhofer FDK AAC, 64 kb/s), both encoders linked
statically into the extension; ``mp3`` is encoded by LAME (the ``lameenc`` wheel, which bundles it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lameenc  # type: ignore[import-not-found]  # a compiled extension that ships no stubs nor py.typed

from fakeai import _core
from fakeai.errors import bad_request

VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "nova",
        "onyx",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    }
)
#: Each format's ``content-type``, as OpenAI labels its speech files.
CONTENT_TYPES = {
    "mp3": b"audio/mpeg",
    "opus": b"audio/opus",
    "aac": b"audio/aac",
    "flac": b"audio/flac",
    "wav": b"audio/wav",
    "pcm": b"audio/pcm",
}
MP3_KBPS = 64


def mp3(pcm: bytes) -> bytes:
    """LAME-encoded MPEG-2 Layer III of 24 kHz mono 16-bit PCM."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_KBPS)
    encoder.set_in_sample_rate(_core.SPEECH_SAMPLE_RATE)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(pcm) + encoder.flush())


def audio_file(text: str, voice: str, speed: float, fmt: str) -> bytes:
    """``text`` spoken by ``voice`` as a file of format ``fmt`` (any key of :data:`CONTENT_TYPES`)."""
    if fmt == "mp3":
        return mp3(_core.speech(text, voice, speed, "pcm"))
    return _core.speech(text, voice, speed, fmt)


def check_voice(voice: str, param: str) -> str:
    if voice not in VOICES:
        raise bad_request(
            f"Invalid value for '{param}': {voice!r}; supported voices are {', '.join(sorted(VOICES))}.",
            param=param,
            code="invalid_value",
        )
    return voice


def check_format(fmt: str, param: str) -> None:
    if fmt not in CONTENT_TYPES:
        raise bad_request(
            f"Audio format {fmt!r} is not supported; use one of {', '.join(CONTENT_TYPES)}.",
            param=param,
            code="unsupported_value",
        )


#: Chat's ``audio.format`` names -> file formats (chat says ``pcm16`` for raw PCM).
CHAT_FORMATS = {"wav": "wav", "mp3": "mp3", "flac": "flac", "pcm16": "pcm", "opus": "opus", "aac": "aac"}


def chat_audio(modalities: list[str] | None, audio: Any) -> Callable[[str], bytes] | None:
    """For ``modalities: ["text", "audio"]``: the renderer ``_core.chat`` calls with each choice's text,
    returning that text spoken as an audio file (the core bounds how much, base64-encodes it into
    ``message.audio`` and adds ``id`` and ``expires_at``); None for text only."""
    if not modalities or "audio" not in modalities:
        return None
    if audio is None:
        raise bad_request(
            "The 'audio' parameter ({voice, format}) is required with modalities ['audio'].",
            param="audio",
            code="missing_required_parameter",
        )
    voice = check_voice(audio.voice, "audio.voice")
    fmt = CHAT_FORMATS.get(audio.format, audio.format)
    check_format(fmt, "audio.format")

    def render(transcript: str) -> bytes:
        return audio_file(transcript, voice, 1.0, fmt)

    return render
