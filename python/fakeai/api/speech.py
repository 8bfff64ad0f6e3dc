"""``POST /v1/audio/speech``: real audio files whose duration follows the text (see
:mod:`fakeai.engine.speech` for the formats and encoders), in one body (``stream_format: "audio"``)
or as server-sent events (``"sse"``, :mod:`fakeai.api.speech_sse`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.routing import Route

from fakeai.api import speech_sse
from fakeai.api.audio_stream import send_steps
from fakeai.context import ServerContext
from fakeai.engine.speech import CONTENT_TYPES, audio_file, check_format, check_voice
from fakeai.errors import bad_request
from fakeai.gateway import overrides
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.speech import CustomVoice, SpeechRequest

#: Inputs longer than this are synthesised on a thread (the core releases the GIL), so one long clip
#: (4096 characters is about 4.5 minutes of audio) never holds up the worker's other requests.
THREAD_FROM_CHARS = 1000


T = TypeVar("T")


async def _synthesise(text: str, render: Callable[..., T], *args: Any) -> T:
    """``render(text, *args)``, on a thread for an input longer than :data:`THREAD_FROM_CHARS`."""
    if len(text) > THREAD_FROM_CHARS:
        return await asyncio.to_thread(render, text, *args)
    return render(text, *args)


def _sse_steps(text: str, voice: str, speed: float, fmt: str, instructions: str | None) -> list[bytes]:
    return speech_sse.steps(audio_file(text, voice, speed, fmt), text, instructions, speed)


class Speech(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(SpeechRequest)
        self.limit = ctx.settings.max_body_bytes
        self.usage = ctx.usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        req = await read_json(receive, self.decoder, self.limit)
        if not req.input.strip():
            raise bad_request("'input' must not be empty.", param="input", code="invalid_value")
        voice = req.voice.id if isinstance(req.voice, CustomVoice) else check_voice(req.voice, "voice")
        check_format(req.response_format, "response_format")
        args = (voice, req.speed, req.response_format)
        if req.stream_format == "sse":
            speech_sse.check_model(req.model)
            steps = await _synthesise(req.input, _sse_steps, *args, req.instructions)
            self.usage.record("audio_speeches", req.model, len(req.input))
            lat = self.ctx.latencies.for_request(req.model, overrides.from_scope(scope))
            spacing = speech_sse.TOKENS_PER_DELTA
            await send_steps(self.ctx, scope, receive, send, steps, lat, start, spacing=spacing)
            return
        body = await _synthesise(req.input, audio_file, *args)
        self.usage.record("audio_speeches", req.model, len(req.input))  # usage counts characters
        await send_bytes(send, body, content_type=CONTENT_TYPES[req.response_format])


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/audio/speech", Speech(ctx), methods=["POST"])]
