"""``POST /rag/api/prompt``: Solido RAG, in the shape fakeai 0.3.x offered.

Request: ``{"query": str | [str], "filters": {...}, "inference_model": str, "top_k": 1-20}``.
Response: ``{"content", "retrieved_docs": [{"id", "content", "score", "metadata", "source"}], "usage"}``.

fakeai has no corpus: the ``top_k`` documents are generated from the query (each opens with the query's
words, so it is about the query), carry the request's ``filters`` in their ``metadata``, and are scored
by the reranker (sigmoid of its logit), best first. The answer is generated prose sized like a short
reply. Everything is deterministic for the same query, filters and model.
"""

from __future__ import annotations

import math
import zlib

import msgspec
import orjson
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.rag import RagRequest

DOC_TOKENS = 60
ANSWER_TOKENS = (48, 160)


class RagPrompt(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.decoder = msgspec.json.Decoder(RagRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if req.stream:
            raise bad_request(
                "stream is not supported by /rag/api/prompt in fakeai.",
                param="stream",
                code="unsupported_value",
            )
        query = req.query if isinstance(req.query, str) else " ".join(req.query)
        if not query.strip():
            raise bad_request("'query' must not be empty.", param="query", code="invalid_value")
        filters = req.filters or {}
        seed = zlib.crc32(orjson.dumps([query, filters, req.inference_model], option=orjson.OPT_SORT_KEYS))
        docs = [f"{query.strip()} {_core.generate_text(DOC_TOKENS, seed + i + 1)}" for i in range(req.top_k)]
        logits = _core.rank_logits(query, docs)
        order = sorted(range(len(docs)), key=lambda i: -logits[i])
        source = filters.get("family", "solido")
        retrieved = [
            {
                "id": f"doc-{seed + i:08x}",
                "content": docs[i],
                "score": round(1 / (1 + math.exp(-logits[i])), 4),
                "metadata": {**filters, "chunk": i},
                "source": f"{source}/docs/{seed + i:08x}.md",
            }
            for i in order
        ]
        lo, hi = ANSWER_TOKENS
        content = _core.generate_text(lo + seed % (hi - lo), seed)
        prompt_tokens = _core.count_tokens(query) + sum(_core.count_tokens(d) for d in docs)
        completion_tokens = _core.count_tokens(content)
        body = {
            "content": content,
            "retrieved_docs": retrieved,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        await send_bytes(send, orjson.dumps(body))


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/rag/api/prompt", RagPrompt(ctx), methods=["POST"])]
