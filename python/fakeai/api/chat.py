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

Answer = tuple[bytes | list[bytes], float | list[float], int, int]


class ChatCompletions(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(ChatRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        req = await read_json(receive, self.decoder, self.limit)
        ctx = self.ctx
        payload, schedule, prompt_tokens, completion_tokens = render(ctx, req, echo=ctx.mode.echo(scope))
        ctx.metrics.inference(scope, req.model, prompt_tokens, completion_tokens, schedule)
        async with ctx.loras.serving(ctx.loras.find(req.model)):
            await respond(send, payload, schedule, start)


def render(ctx: ServerContext, req: ChatRequest, *, echo: bool | None = None) -> Answer:
    """The core's answer to a decoded request: ``(payload, schedule, prompt_tokens, completion_tokens)``.

    Shared by the endpoint and by batches, the Responses API and Realtime, so that all answer through
    the same engine; ``echo`` is the request's response mode (default: the server's ``--mode``).
    """
    if req.top_logprobs is not None and not req.logprobs:
        raise bad_request("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    _, info = ctx.resolve_model(req.model)
    lat = ctx.latency
    try:
        answer = _core.chat(
            req,
            info,
            fingerprint=FINGERPRINT,
            ttft=lat.ttft,
            itl=lat.itl,
            jitter=lat.jitter,
            echo_mode=ctx.mode.default_echo if echo is None else echo,
            lengths=ctx.lengths,
            audio=chat_audio(req.modalities, req.audio),
        )
    except _core.InvalidInput as exc:
        raise rejected(exc) from None
    ctx.usage.record("completions", req.model, answer[2], answer[3])
    return answer


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/chat/completions", ChatCompletions(ctx), methods=["POST"])]
