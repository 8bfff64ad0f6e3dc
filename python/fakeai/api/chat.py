"""``POST /v1/chat/completions``: decode, one call into the Rust core, send on the simulated schedule."""

from __future__ import annotations

import time

import msgspec
from starlette.routing import Route

from fakeai import _core
from fakeai.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.context import FINGERPRINT, ServerContext
from fakeai.engine.pacing import respond
from fakeai.errors import bad_request
from fakeai.schemas.chat import ChatRequest


class ChatCompletions(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(ChatRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        req = await read_json(receive, self.decoder, self.limit)
        payload, schedule, _, _ = render(self.ctx, req)
        await respond(send, payload, schedule, start)


def render(ctx: ServerContext, req: ChatRequest) -> tuple[bytes | list[bytes], float | list[float], int, int]:
    """The core's answer to a decoded request: ``(payload, schedule, prompt_tokens, completion_tokens)``.

    Shared by the endpoint and by batches, so both answer through the same engine.
    """
    top_logprobs = None
    if req.logprobs:
        top_logprobs = req.top_logprobs or 0
    elif req.top_logprobs is not None:
        raise bad_request("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    ctx.catalog.resolve(req.model)
    lat = ctx.latency
    answer = _core.chat(
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
    )
    ctx.usage.record("completions", req.model, answer[2], answer[3])
    return answer


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/chat/completions", ChatCompletions(ctx), methods=["POST"])]
