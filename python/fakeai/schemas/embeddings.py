"""``POST /v1/embeddings`` request schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.chat import Message
from fakeai.schemas.common import ModelId, PositiveInt


class EmbeddingRequest(msgspec.Struct, gc=False):
    """OpenAI's ``input``, or vLLM's chat form (``messages``, embedded as the chat template renders them:
    one embedding); exactly one of the two."""

    model: ModelId
    input: str | Annotated[list[Any], Meta(max_length=2048)] | None = None
    dimensions: PositiveInt | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None
    messages: Annotated[list[Message], Meta(min_length=1)] | None = None
    add_generation_prompt: bool = False
