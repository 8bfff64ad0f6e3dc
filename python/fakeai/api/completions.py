"""``POST /v1/completions`` (legacy text completions)."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.api.chat import Answer
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine import overrides
from fakeai.engine.overrides import Overrides
from fakeai.errors import bad_request, rejected
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
        ctx = self.ctx
        payload, schedule, prompt_tokens, completion_tokens, ticket = render(ctx, req, over, start)
        ctx.metrics.inference(scope, req.model, prompt_tokens, completion_tokens, schedule)
        async with ctx.loras.serving(ctx.loras.find(req.model)):
            await ctx.cluster.respond(receive, send, payload, schedule, start, ticket)


def render(
    ctx: ServerContext, req: CompletionRequest, over: Overrides | None = None, start: float | None = None
) -> Answer:
    """The core's answer to a decoded request (shared by the endpoint and by batches); ``over`` and
    ``start`` as for :func:`fakeai.api.chat.render`."""
    if req.max_tokens == 0 and not req.echo:
        raise bad_request("'max_tokens' must be at least 1 unless 'echo' is true.", param="max_tokens")
    if start is not None and ctx.cluster.bounded:
        ctx.cluster.admit(start)
    _, info = ctx.resolve_model(req.model)
    lat = ctx.latencies.for_request(info.id, over)
    echo = ctx.echo if over is None or over.echo is None else over.echo
    try:
        answer = _core.completion(
            req,
            fingerprint=FINGERPRINT,
            ttft=lat.ttft,
            itl=lat.itl,
            jitter=lat.jitter,
            forced_tokens=over and over.output_tokens,
            echo_mode=echo,
            lengths=ctx.lengths,
            context_length=info.context_length,
            prefill_per_token=lat.prefill_per_token,
            cluster=None if start is None else ctx.cluster.core,
            now=start or 0.0,
        )
    except _core.InvalidInput as exc:
        raise rejected(exc, param="prompt") from None
    ctx.usage.record("completions", req.model, answer[2], answer[3])
    return answer


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/completions", Completions(ctx), methods=["POST"])]
