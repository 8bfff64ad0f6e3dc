"""``POST /v1/embeddings``: deterministic, L2-normalised feature-hashing embeddings, rendered by
:func:`fakeai.engine.render.embeddings`."""

from __future__ import annotations

import msgspec
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.errors import ApiError
from fakeai.http.asgi import REQUESTED_MODEL, Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.observability.recorder import MODEL_KEY
from fakeai.schemas.embeddings import EmbeddingRequest


class Embeddings(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(EmbeddingRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        try:
            body, _, label = render.embeddings(self.ctx, req, live=True)
        except ApiError:
            scope[REQUESTED_MODEL] = req.model
            raise
        if label is not None:
            scope[MODEL_KEY] = label
        await send_bytes(send, body)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/embeddings", Embeddings(ctx), methods=["POST"])]
