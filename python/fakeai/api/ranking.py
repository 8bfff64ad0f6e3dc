"""Reranking: NVIDIA NIM ``POST /v1/ranking``, the Cohere/Jina ``POST /v1/rerank`` gateways proxy (also
at Cohere's ``/v2/rerank`` and at ``/rerank``, as vLLM serves it), and Hugging Face TEI's ``/rerank``
body (``texts``), answered with TEI's list.

Relevance is BM25 over the given passages plus the cosine of fakeai's embeddings (see the core's
``rank.rs``), so passages that share the query's words rank first. NIM answers raw ``logit``s sorted
from most relevant; Cohere/Jina answer ``relevance_score`` = sigmoid(logit) in ``0..1``.

NIM's ``truncate: "NONE"`` rejects a query-passage pair longer than the reranker's 512-token window
with a 400, as NIM does; ``END`` (fakeai's default) truncates silently.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import msgspec
import orjson
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.ranking import AnyRerankRequest, Passage, RankingRequest, RerankRequest

#: Tokens a reranker reads for one query-passage pair.
PAIR_WINDOW = 512


def ranked(query: str, texts: list[str], top_n: int | None) -> list[tuple[int, float]]:
    """``(index, logit)`` pairs, most relevant first, at most ``top_n``."""
    logits = _core.rank_logits(query, texts)
    order = sorted(range(len(texts)), key=lambda i: (-logits[i], i))
    return [(i, logits[i]) for i in order[:top_n]]


class Ranking(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.decoder = msgspec.json.Decoder(RankingRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if not req.query.text.strip():
            raise bad_request("'query.text' must not be empty.", param="query.text", code="invalid_value")
        texts = [p.text for p in req.passages]
        if req.truncate == "NONE":
            query_tokens = _core.count_tokens(req.query.text)
            for i, text in enumerate(texts):
                pair = query_tokens + _core.count_tokens(text)
                if pair > PAIR_WINDOW:
                    raise bad_request(
                        f"Input length {pair} of query and passages[{i}] exceeds the maximum of {PAIR_WINDOW} "
                        "tokens; set truncate to END to truncate it.",
                        param=f"passages[{i}]",
                        code="context_length_exceeded",
                    )
        rankings = [
            {"index": i, "logit": round(logit, 4)} for i, logit in ranked(req.query.text, texts, req.top_n)
        ]
        await send_bytes(send, orjson.dumps({"rankings": rankings}))


class Rerank(Endpoint):
    """Cohere/Jina reranking (``/v1/rerank``, ``/v2/rerank``); with ``tei``, ``/rerank``, which also
    takes Hugging Face TEI's body and answers TEI's list."""

    def __init__(self, ctx: ServerContext, tei: bool = False) -> None:
        self.tei = tei
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            AnyRerankRequest if tei else RerankRequest
        )
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if not req.query.strip():
            raise bad_request("'query' must not be empty.", param="query", code="invalid_value")
        if self.tei and req.documents is None:
            if req.texts is None:
                raise bad_request(
                    "Missing required parameter: 'documents' (or TEI's 'texts').",
                    param="documents",
                    code="missing_required_parameter",
                )
            await send_bytes(send, orjson.dumps(tei_ranks(req)))
            return
        texts = [d.text if isinstance(d, Passage) else d for d in req.documents]
        results = []
        for i, logit in ranked(req.query, texts, req.top_n):
            item: dict[str, object] = {"index": i, "relevance_score": round(_sigmoid(logit), 6)}
            if req.return_documents:
                item["document"] = {"text": texts[i]}
            results.append(item)
        tokens = _core.count_tokens(req.query) * len(texts) + sum(_core.count_tokens(t) for t in texts)
        body = {
            "id": secrets.token_hex(16),
            "model": req.model,
            "results": results,
            "usage": {"total_tokens": tokens},
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        }
        await send_bytes(send, orjson.dumps(body))


def tei_ranks(req: AnyRerankRequest) -> list[dict[str, object]]:
    """TEI's answer: ``[{"index", "score", "text"?}]``, most relevant first; ``score`` in ``0..1``, or
    the raw logit with ``raw_scores``."""
    texts = req.texts or []
    ranks: list[dict[str, object]] = []
    for i, logit in ranked(req.query, texts, None):
        rank: dict[str, object] = {
            "index": i,
            "score": round(logit if req.raw_scores else _sigmoid(logit), 6),
        }
        if req.return_text:
            rank["text"] = texts[i]
        ranks.append(rank)
    return ranks


def _sigmoid(logit: float) -> float:
    return 1 / (1 + math.exp(-logit))


def routes(ctx: ServerContext) -> list[Route]:
    return [
        Route("/v1/ranking", Ranking(ctx), methods=["POST"]),
        Route("/v1/rerank", Rerank(ctx), methods=["POST"]),
        Route("/v2/rerank", Rerank(ctx), methods=["POST"]),  # Cohere's v2 path, as vLLM serves it
        Route("/rerank", Rerank(ctx, tei=True), methods=["POST"]),
    ]
