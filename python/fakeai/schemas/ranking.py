"""Request schemas of the reranking endpoints: NVIDIA NIM ``/v1/ranking`` and Cohere/Jina ``/v1/rerank``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import ModelId, PositiveInt

Passages = Annotated[list["Passage"], Meta(min_length=1, max_length=1000)]


class Passage(msgspec.Struct, gc=False):
    text: str


class RankingRequest(msgspec.Struct, gc=False):
    """NIM: ``{"model", "query": {"text"}, "passages": [{"text"}], "truncate"}``."""

    model: ModelId
    query: Passage
    passages: Passages
    truncate: Literal["NONE", "END"] = "END"
    top_n: PositiveInt | None = None


class RerankRequest(msgspec.Struct, gc=False):
    """Cohere/Jina: ``{"model", "query", "documents": [str | {"text"}], "top_n", "return_documents"}``."""

    query: str
    documents: Annotated[list[str | Passage], Meta(min_length=1, max_length=1000)]
    model: ModelId = "rerank-v3.5"
    top_n: PositiveInt | None = None
    return_documents: bool = False
    max_tokens_per_doc: PositiveInt | None = None
