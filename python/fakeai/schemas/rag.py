"""``POST /rag/api/prompt`` (Solido RAG) request schema, as fakeai 0.3.x accepted it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta


class RagRequest(msgspec.Struct, gc=False):
    query: Annotated[str, Meta(min_length=1)] | Annotated[list[str], Meta(min_length=1)]
    filters: dict[str, Any] | None = None
    inference_model: Annotated[str, Meta(min_length=1)] = "meta-llama/Llama-3.1-70B-Instruct"
    top_k: Annotated[int, Meta(ge=1, le=20)] = 5
    stream: bool = False
