"""``POST /v1/chat/completions``: decode, one call into the Rust core, send on the simulated schedule."""

from __future__ import annotations

from starlette.routing import Route

from fakeai import _core
from fakeai.api.generation import Answer, Generation, prepare
from fakeai.context import ServerContext
from fakeai.engine.overrides import Overrides
from fakeai.engine.speech import chat_audio
from fakeai.errors import bad_request, rejected
from fakeai.schemas.chat import ChatRequest


def render(
    ctx: ServerContext, req: ChatRequest, over: Overrides | None = None, start: float | None = None
) -> Answer:
    """The core's answer to a decoded request, shared by the endpoint and by batches, the Responses
    API and Realtime, so that all answer through the same engine. ``over``: the request's
    ``x-fakeai-*`` overrides. With ``start`` (its arrival, ``time.monotonic()``) the request runs on
    the simulated cluster (prefix cache, routing, batch slots); without it, it only follows its model's
    latency."""
    if req.top_logprobs is not None and not req.logprobs:
        raise bad_request("'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs")
    info, shared = prepare(ctx, req.model, over, start)
    try:
        answer = _core.chat(req, info, audio=chat_audio(req.modalities, req.audio), **shared)
    except _core.InvalidInput as exc:
        raise rejected(exc) from None
    ctx.usage.record("completions", req.model, answer[2], answer[3])
    return answer


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/chat/completions", Generation(ctx, ChatRequest, render), methods=["POST"])]
