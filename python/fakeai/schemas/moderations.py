"""``POST /v1/moderations`` request schema."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from fakeai.schemas.common import ModelId


class ImageUrl(msgspec.Struct, gc=False):
    url: Annotated[str, Meta(min_length=1)]


class TextInput(msgspec.Struct, tag_field="type", tag="text", gc=False):
    text: str


class ImageInput(msgspec.Struct, tag_field="type", tag="image_url", gc=False):
    image_url: ImageUrl


class ModerationRequest(msgspec.Struct, gc=False):
    #: A string, a list of strings, or (omni models) a list of text and image parts.
    input: str | Annotated[list[str | TextInput | ImageInput], Meta(min_length=1, max_length=4096)]
    model: ModelId = "omni-moderation-latest"
