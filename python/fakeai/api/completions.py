"""``POST /v1/completions`` (legacy text completions)."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.api.chat import Answer
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
        ctx = self.ctx
        payload, schedule, prompt_tokens, completion_tokens = render(ctx, req, echo=ctx.mode.echo(scope))
        ctx.metrics.inference(scope, req.model, prompt_tokens, completion_tokens, schedule)
        async with ctx.loras.serving(ctx.loras.find(req.model)):
            await respond(send, payload, schedule, start)


def render(ctx: ServerContext, req: CompletionRequest, *, echo: bool | None = None) -> Answer:
    """The core's answer to a decoded request (shared by the endpoint and by batches)."""
    if req.max_tokens == 0 and not req.echo:
        raise bad_request("'max_tokens' must be at least 1 unless 'echo' is true.", param="max_tokens")
    _, info = ctx.resolve_model(req.model)
    lat = ctx.latency
    try:
        answer = _core.completion(
            req,
            fingerprint=FINGERPRINT,
            ttft=lat.ttft,
            itl=lat.itl,
            jitter=lat.jitter,
            echo_mode=ctx.mode.default_echo if echo is None else echo,
            lengths=ctx.lengths,
            context_length=info.context_length,
        )
    except _core.InvalidInput as exc:
        raise rejected(exc, param="prompt") from None
    ctx.usage.record("completions", req.model, answer[2], answer[3])
    return answer


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/completions", Completions(ctx), methods=["POST"])]
