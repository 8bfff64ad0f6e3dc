"""``POST /v1/images/generations`` request schema (edits and variations are multipart forms)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import ModelId, Seed


class ImageGenerationRequest(msgspec.Struct, gc=False):
    prompt: str
    model: ModelId = "dall-e-2"
    n: int = 1
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: Literal["url", "b64_json"] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    output_compression: Annotated[int, Meta(ge=0, le=100)] | None = None
    moderation: Literal["low", "auto"] | None = None
    user: str | None = None
    #: fakeai extra: a different picture for the same prompt.
    seed: Seed = 0
