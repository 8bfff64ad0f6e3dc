"""``POST /v1/embeddings``: deterministic, L2-normalised feature-hashing embeddings."""

from __future__ import annotations

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.schemas.embeddings import EmbeddingRequest


class Embeddings(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(EmbeddingRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        body, prompt_tokens = render(self.ctx, req)
        self.ctx.metrics.inference(scope, req.model, prompt_tokens, 0)
        await send_bytes(send, body)


def render(ctx: ServerContext, req: EmbeddingRequest) -> tuple[bytes, int]:
    """``(body, prompt_tokens)`` for a decoded request (shared by the endpoint and by batches)."""
    model = ctx.catalog.resolve(req.model, for_embeddings=True)
    native = model.embedding_dims or 1536
    dims = native if req.dimensions is None else req.dimensions
    if dims > native:
        raise bad_request(
            f"'dimensions' must be at most {native} for model '{req.model}', got {dims}.", param="dimensions"
        )
    try:
        body, prompt_tokens = _core.embed(req.model, req.input, dims, req.encoding_format == "base64")
    except _core.InvalidInput as exc:
        raise bad_request(f"Invalid 'input': {exc}.", param="input") from None
    ctx.usage.record("embeddings", req.model, prompt_tokens)
    return body, prompt_tokens


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/embeddings", Embeddings(ctx), methods=["POST"])]
