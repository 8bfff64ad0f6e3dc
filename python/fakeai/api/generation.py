"""The endpoint shape shared by chat and legacy text completions: decode, render and record in one core
call (:mod:`fakeai.engine.render`), send on the simulated schedule while holding the request's LoRA
adapter slot. An API that answers in its own shape (TGI's, :mod:`fakeai.api.tgi`) decodes its own
request and serves it through :meth:`Generation.serve` with a ``reshape`` of the rendered answer."""

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
#: ``reshape(answer)``: the body (or the stream's steps, one per step of the answer's) to send instead
#: of the rendered one, on the answer's schedule.
Reshape = Callable[[Answer], bytes | list[bytes]]


class Generation(Endpoint):
    def __init__(self, ctx: ServerContext, schema: type, render: Render) -> None:
        self.ctx = ctx
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(schema)
        self.limit = ctx.settings.max_body_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        req = await read_json(receive, self.decoder, self.limit)
        await self.serve(scope, receive, send, req, start)

    async def serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        req: Any,
        start: float,
        reshape: Reshape | None = None,
    ) -> None:
        """Render ``req`` (a decoded request naming its ``model``) and send the answer, or its
        ``reshape``, on the simulated schedule."""
        ctx = self.ctx
        lora = ctx.loras.find(req.model)
        try:
            answer = self.render(ctx, req, overrides.from_scope(scope), start, lora)
        except ApiError:
            scope[REQUESTED_MODEL] = req.model  # e.g. context length exceeded: an error of this model
            raise
        if answer.label is not None:  # usage and metrics were recorded by the core call
            scope[MODEL_KEY] = answer.label
        payload = None if reshape is None else reshape(answer)
        direct = body_send(scope, send)
        if lora is None:
            await ctx.cluster.respond(receive, send, answer, start, direct, payload)
            return
        async with ctx.loras.serving(lora):
            await ctx.cluster.respond(receive, send, answer, start, direct, payload)
