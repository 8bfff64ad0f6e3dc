"""``POST /v1/audio/speech``: real audio files whose duration follows the text (see
:mod:`fakeai.engine.speech` for the formats and encoders)."""

from __future__ import annotations

import asyncio

import msgspec
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.engine.speech import CONTENT_TYPES, audio_file, check_format, check_voice
from fakeai.errors import bad_request
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.speech import CustomVoice, SpeechRequest

#: Inputs longer than this are synthesised on a thread (the core releases the GIL), so one long clip
#: (4096 characters is about 4.5 minutes of audio) never holds up the worker's other requests.
THREAD_FROM_CHARS = 1000


class Speech(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.decoder = msgspec.json.Decoder(SpeechRequest)
        self.limit = ctx.settings.max_body_bytes
        self.usage = ctx.usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if not req.input.strip():
            raise bad_request("'input' must not be empty.", param="input", code="invalid_value")
        voice = req.voice.id if isinstance(req.voice, CustomVoice) else check_voice(req.voice, "voice")
        check_format(req.response_format, "response_format")
        if req.stream_format == "sse":
            raise bad_request(
                "stream_format 'sse' is not supported by fakeai; use 'audio'.",
                param="stream_format",
                code="unsupported_value",
            )
        args = (req.input, voice, req.speed, req.response_format)
        body = (
            await asyncio.to_thread(audio_file, *args)
            if len(req.input) > THREAD_FROM_CHARS
            else audio_file(*args)
        )
        self.usage.record("audio_speeches", req.model, len(req.input))  # usage counts characters
        await send_bytes(send, body, content_type=CONTENT_TYPES[req.response_format])


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/audio/speech", Speech(ctx), methods=["POST"])]
