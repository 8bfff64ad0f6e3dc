"""Request schemas of the reranking endpoints: NVIDIA NIM ``/v1/ranking``, Cohere/Jina ``/v1/rerank``
(also ``/v2/rerank`` and ``/rerank``, as vLLM serves them) and Hugging Face TEI's ``/rerank``."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import ModelId, PositiveInt

Passages = Annotated[list["Passage"], Meta(min_length=1, max_length=1000)]
Documents = Annotated[list["str | Passage"], Meta(min_length=1, max_length=1000)]
Texts = Annotated[list[str], Meta(min_length=1, max_length=1000)]


class Passage(msgspec.Struct, gc=False):
    text: str


class RankingRequest(msgspec.Struct, gc=False):
    """NIM: ``{"model", "query": {"text"}, "passages": [{"text"}], "truncate"}``."""

    model: ModelId
    query: Passage
    passages: Passages
    truncate: Literal["NONE", "END"] = "END"
    top_n: PositiveInt | None = None


class Rerank(msgspec.Struct, kw_only=True, gc=False):
    """What every reranking body beside NIM's holds; its subclasses add the documents."""

    query: str
    model: ModelId = "rerank-v3.5"
    top_n: PositiveInt | None = None
    return_documents: bool = False
    max_tokens_per_doc: PositiveInt | None = None


class RerankRequest(Rerank, kw_only=True, gc=False):
    """Cohere/Jina: ``{"model", "query", "documents": [str | {"text"}], "top_n", "return_documents"}``."""

    documents: Documents


class AnyRerankRequest(Rerank, kw_only=True, gc=False):
    """``/rerank``'s body: Cohere/Jina's (:class:`RerankRequest`, with ``documents``), as vLLM serves
    it there, or Hugging Face TEI's (``{"query", "texts": [str], "raw_scores", "return_text",
    "truncate", "truncation_direction"}``); ``texts`` without ``documents`` picks TEI's."""

    documents: Documents | None = None
    texts: Texts | None = None
    raw_scores: bool = False
    return_text: bool = False
    truncate: bool = False
    truncation_direction: Literal["Left", "Right", "left", "right"] = "Right"
