"""``POST /v1/audio/speech``: real audio files whose duration follows the text.

The Rust core synthesises a speech-like signal (24 kHz, 16-bit mono, 15 characters a second at speed
1) and writes ``wav``, ``flac`` and ``pcm`` itself; ``mp3`` is encoded by LAME (the ``lameenc`` wheel,
which bundles it). ``opus`` and ``aac`` have no encoder fakeai can ship in a wheel, so they answer a
400 ``unsupported_value`` naming the format.
"""

from __future__ import annotations

import lameenc
import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.schemas.speech import CustomVoice, SpeechRequest

VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse", "marin", "cedar"}
)
CONTENT_TYPES = {
    "mp3": b"audio/mpeg",
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


def voice_name(voice: str | CustomVoice) -> str:
    if isinstance(voice, CustomVoice):
        return voice.id
    if voice not in VOICES:
        raise bad_request(f"Invalid value for 'voice': {voice!r}; supported voices are {', '.join(sorted(VOICES))}.",
                          param="voice", code="invalid_value")
    return voice


def check_format(fmt: str, param: str) -> None:
    if fmt not in CONTENT_TYPES:
        raise bad_request(
            f"response_format {fmt!r} is not supported by fakeai: it has no {fmt} encoder it can ship; "
            f"use one of {', '.join(CONTENT_TYPES)}.", param=param, code="unsupported_value")


class Speech(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.decoder = msgspec.json.Decoder(SpeechRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if not req.input.strip():
            raise bad_request("'input' must not be empty.", param="input", code="invalid_value")
        voice = voice_name(req.voice)
        check_format(req.response_format, "response_format")
        if req.stream_format == "sse":
            raise bad_request("stream_format 'sse' is not supported by fakeai; use 'audio'.", param="stream_format",
                              code="unsupported_value")
        body = audio_file(req.input, voice, req.speed, req.response_format)
        await send_bytes(send, body, content_type=CONTENT_TYPES[req.response_format])


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/audio/speech", Speech(ctx), methods=["POST"])]
