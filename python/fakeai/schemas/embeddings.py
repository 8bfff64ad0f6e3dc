"""``POST /v1/embeddings`` request schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import ModelId, PositiveInt


class EmbeddingRequest(msgspec.Struct, gc=False):
    model: ModelId
    input: str | Annotated[list[Any], Meta(max_length=2048)]
    dimensions: PositiveInt | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None
