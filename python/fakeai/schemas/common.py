"""Request fields shared by the APIs, and the check of OpenAI's ``metadata`` field."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from fakeai.errors import bad_request

ModelId = Annotated[str, Meta(min_length=1, max_length=512)]
PositiveInt = Annotated[int, Meta(ge=1)]
Temperature = Annotated[float, Meta(ge=0, le=2)]
Probability = Annotated[float, Meta(ge=0, le=1)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
ChoiceCount = Annotated[int, Meta(ge=1, le=128)]
Stop = str | list[str] | None


class StreamOptions(msgspec.Struct, frozen=True, gc=False):
    include_usage: bool = False
    continuous_usage_stats: bool = False


def check_metadata(metadata: dict[str, str] | None) -> None:
    """OpenAI's metadata rules: at most 16 pairs, keys up to 64 characters, values up to 512."""
    if metadata is None:
        return
    if len(metadata) > 16:
        raise bad_request("'metadata' holds at most 16 key-value pairs.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64 or len(value) > 512:
            raise bad_request(
                "'metadata' keys are at most 64 characters and values at most 512.",
                param=f"metadata.{key[:64]}",
            )
