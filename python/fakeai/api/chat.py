"""``POST /v1/chat/completions``: decode, one call into the Rust core, send on the simulated schedule."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine import overrides
from fakeai.errors import bad_request
from fakeai.schemas.chat import ChatRequest


class ChatCompletions(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(ChatRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        over = overrides.from_scope(scope)
        req = await read_json(receive, self.decoder, self.limit)
        top_logprobs = None
        if req.logprobs:
            top_logprobs = req.top_logprobs or 0
        elif req.top_logprobs is not None:
            raise bad_request("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
        self.ctx.catalog.resolve(req.model)
        lat = self.ctx.latencies.for_request(req.model, over)
        payload, schedule, _, _, ticket = _core.chat(
            req.model,
            req.messages,
            n=req.n,
            max_tokens=req.max_completion_tokens or req.max_tokens,
            min_tokens=req.min_tokens,
            ignore_eos=req.ignore_eos,
            stop=req.stop,
            seed=req.seed,
            top_logprobs=top_logprobs,
            stream=req.stream,
            include_usage=req.stream_options is not None and req.stream_options.include_usage,
            fingerprint=FINGERPRINT,
            ttft=lat.ttft,
            itl=lat.itl,
            jitter=lat.jitter,
            prefill_per_token=lat.prefill_per_token,
            forced_tokens=over and over.output_tokens,
            cluster=self.ctx.cluster.core,
            now=start,
        )
        await self.ctx.cluster.respond(receive, send, payload, schedule, start, ticket)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/chat/completions", ChatCompletions(ctx), methods=["POST"])]
