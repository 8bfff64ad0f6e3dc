"""``POST /v1/audio/speech`` request schema."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import ModelId


class CustomVoice(msgspec.Struct, gc=False):
    id: Annotated[str, Meta(min_length=1)]


class SpeechRequest(msgspec.Struct, gc=False):
    model: ModelId
    input: Annotated[str, Meta(max_length=4096)]
    voice: str | CustomVoice
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Meta(ge=0.25, le=4.0)] = 1.0
    instructions: Annotated[str, Meta(max_length=4096)] | None = None
    stream_format: Literal["audio", "sse"] = "audio"
