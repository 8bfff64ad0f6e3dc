"""``POST /v1/completions`` (legacy text completions)."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine import overrides
from fakeai.errors import bad_request
from fakeai.schemas.completions import CompletionRequest


class Completions(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(CompletionRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        over = overrides.from_scope(scope)
        req = await read_json(receive, self.decoder, self.limit)
        if req.max_tokens == 0 and not req.echo:
            raise bad_request("'max_tokens' must be at least 1 unless 'echo' is true.", param="max_tokens")
        self.ctx.catalog.resolve(req.model)
        lat = self.ctx.latencies.for_request(req.model, over)
        try:
            payload, schedule, _, _, ticket = _core.completion(
                req.model,
                req.prompt,
                n=req.n,
                max_tokens=req.max_tokens,
                min_tokens=req.min_tokens,
                ignore_eos=req.ignore_eos,
                stop=req.stop,
                seed=req.seed,
                logprobs=req.logprobs,
                echo=req.echo,
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
        except _core.InvalidInput as exc:
            raise bad_request(f"Invalid 'prompt': {exc}.", param="prompt") from None
        await self.ctx.cluster.respond(receive, send, payload, schedule, start, ticket)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/completions", Completions(ctx), methods=["POST"])]
