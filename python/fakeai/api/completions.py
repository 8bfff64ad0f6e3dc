"""``POST /v1/completions`` (legacy text completions)."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine.pacing import respond
from fakeai.errors import bad_request, rejected
from fakeai.schemas.completions import CompletionRequest


class Completions(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(CompletionRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        req = await read_json(receive, self.decoder, self.limit)
        if req.max_tokens == 0 and not req.echo:
            raise bad_request("'max_tokens' must be at least 1 unless 'echo' is true.", param="max_tokens")
        lora = self.ctx.loras.find(req.model)
        info = self.ctx.catalog.resolve(
            (lora.base_model_name or self.ctx.settings.lora_base_model) if lora else req.model
        )
        lat = self.ctx.latency
        try:
            payload, schedule, prompt_tokens, completion_tokens = _core.completion(
                req,
                fingerprint=FINGERPRINT,
                ttft=lat.ttft,
                itl=lat.itl,
                jitter=lat.jitter,
                echo_mode=self.ctx.mode.echo(scope),
                lengths=self.ctx.lengths,
                context_length=info.context_length,
            )
        except _core.InvalidInput as exc:
            raise rejected(exc, param="prompt") from None
        self.ctx.metrics.inference(scope, req.model, prompt_tokens, completion_tokens, schedule)
        async with self.ctx.loras.serving(lora):
            await respond(send, payload, schedule, start)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/completions", Completions(ctx), methods=["POST"])]
