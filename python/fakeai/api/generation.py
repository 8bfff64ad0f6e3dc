"""The endpoint shape shared by chat and legacy text completions: decode, render and record in one core
call (:mod:`fakeai.engine.render`), send on the simulated schedule while holding the request's LoRA
adapter slot."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import EllipsisType
from typing import Any

import msgspec

from fakeai.context import ServerContext
from fakeai.engine.lora import LoraModule
from fakeai.engine.render import Answer
from fakeai.errors import ApiError
from fakeai.gateway import overrides
from fakeai.gateway.overrides import Overrides
from fakeai.http.asgi import REQUESTED_MODEL, Endpoint, Receive, Scope, Send, body_send, read_json
from fakeai.observability.recorder import MODEL_KEY

#: ``render(ctx, request, overrides, start, lora)``: the answer to one decoded request (see
#: :func:`fakeai.engine.render.chat`).
Render = Callable[
    [ServerContext, Any, Overrides | None, float | None, LoraModule | None | EllipsisType], Answer
]


class Generation(Endpoint):
    def __init__(self, ctx: ServerContext, schema: type, render: Render) -> None:
        self.ctx = ctx
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(schema)
        self.limit = ctx.settings.max_body_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        over = overrides.from_scope(scope)
        req = await read_json(receive, self.decoder, self.limit)
        ctx = self.ctx
        lora = ctx.loras.find(req.model)
        try:
            answer = self.render(ctx, req, over, start, lora)
        except ApiError:
            scope[REQUESTED_MODEL] = req.model  # e.g. context length exceeded: an error of this model
            raise
        if answer.label is not None:  # usage and metrics were recorded by the core call
            scope[MODEL_KEY] = answer.label
        direct = body_send(scope, send)
        if lora is None:
            await ctx.cluster.respond(receive, send, answer, start, direct)
            return
        async with ctx.loras.serving(lora):
            await ctx.cluster.respond(receive, send, answer, start, direct)
