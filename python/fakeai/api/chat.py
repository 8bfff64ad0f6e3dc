"""``POST /v1/chat/completions``: decode, one call into the Rust core, send on the simulated schedule."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine.pacing import respond
from fakeai.engine.speech import chat_audio
from fakeai.errors import bad_request, rejected
from fakeai.schemas.chat import ChatRequest


class ChatCompletions(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(ChatRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        req = await read_json(receive, self.decoder, self.limit)
        if req.top_logprobs is not None and not req.logprobs:
            raise bad_request("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
        lora = self.ctx.loras.find(req.model)
        info = self.ctx.catalog.resolve(
            (lora.base_model_name or self.ctx.settings.lora_base_model) if lora else req.model
        )
        lat = self.ctx.latency
        try:
            payload, schedule, prompt_tokens, completion_tokens = _core.chat(
                req,
                info,
                fingerprint=FINGERPRINT,
                ttft=lat.ttft,
                itl=lat.itl,
                jitter=lat.jitter,
                echo_mode=self.ctx.mode.echo(scope),
                lengths=self.ctx.lengths,
                audio=chat_audio(req.modalities, req.audio),
            )
        except _core.InvalidInput as exc:
            raise rejected(exc) from None
        self.ctx.metrics.inference(scope, req.model, prompt_tokens, completion_tokens, schedule)
        async with self.ctx.loras.serving(lora):
            await respond(send, payload, schedule, start)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/chat/completions", ChatCompletions(ctx), methods=["POST"])]
