"""The endpoint shape shared by chat and legacy text completions: decode, render in one core call,
record, send on the simulated schedule while holding the request's LoRA adapter slot."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine import overrides
from fakeai.engine.catalog import ModelInfo
from fakeai.engine.overrides import Overrides

#: What the core renders: ``(payload, schedule, prompt_tokens, completion_tokens, ticket)``; payload and
#: schedule are a body and its ``(first_token_at, done_at)``, or a stream's steps and their offsets.
Answer = tuple[bytes | list[bytes], Any, int, int, int]
#: ``render(ctx, request, overrides, start)``: the answer to one decoded request (see ``chat.render``).
Render = Callable[[ServerContext, Any, Overrides | None, float | None], Answer]


def prepare(
    ctx: ServerContext, model: str, over: Overrides | None, start: float | None
) -> tuple[ModelInfo, dict[str, Any]]:
    """What every generating render needs before its core call: admission to the simulated cluster's
    queue (live requests only), the serving model's catalog entry, and the keyword arguments that
    ``_core.chat`` and ``_core.completion`` share: latency with the request's overrides, forced
    length, response mode, length distribution and the cluster to run on (None off the live path)."""
    if start is not None and ctx.cluster.bounded:
        ctx.cluster.admit(start)
    _, info = ctx.resolve_model(model)
    lat = ctx.latencies.for_request(info.id, over)
    return info, {
        "fingerprint": FINGERPRINT,
        "ttft": lat.ttft,
        "itl": lat.itl,
        "jitter": lat.jitter,
        "prefill_per_token": lat.prefill_per_token,
        "forced_tokens": over and over.output_tokens,
        "echo_mode": ctx.echo if over is None or over.echo is None else over.echo,
        "lengths": ctx.lengths,
        "cluster": None if start is None else ctx.cluster.core,
        "now": start or 0.0,
    }


class Generation(Endpoint):
    def __init__(self, ctx: ServerContext, schema: type, render: Render) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(schema)
        self.limit = ctx.settings.max_body_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        over = overrides.from_scope(scope)
        req = await read_json(receive, self.decoder, self.limit)
        ctx = self.ctx
        payload, schedule, prompt_tokens, completion_tokens, ticket = self.render(ctx, req, over, start)
        ctx.metrics.inference(scope, req.model, prompt_tokens, completion_tokens, schedule)
        lora = ctx.loras.find(req.model)
        if lora is None:
            await ctx.cluster.respond(receive, send, payload, schedule, start, ticket)
            return
        async with ctx.loras.serving(lora):
            await ctx.cluster.respond(receive, send, payload, schedule, start, ticket)
