"""``POST /v1/completions`` (legacy text completions)."""

from __future__ import annotations

from starlette.routing import Route

from fakeai import _core
from fakeai.api.generation import Answer, Generation, prepare
from fakeai.context import ServerContext
from fakeai.engine.overrides import Overrides
from fakeai.errors import bad_request, rejected
from fakeai.schemas.completions import CompletionRequest


def render(
    ctx: ServerContext, req: CompletionRequest, over: Overrides | None = None, start: float | None = None
) -> Answer:
    """The core's answer to a decoded request (shared by the endpoint and by batches); ``over`` and
    ``start`` as for :func:`fakeai.api.chat.render`."""
    if req.max_tokens == 0 and not req.echo:
        raise bad_request("'max_tokens' must be at least 1 unless 'echo' is true.", param="max_tokens")
    info, shared = prepare(ctx, req.model, over, start)
    try:
        answer = _core.completion(req, context_length=info.context_length, **shared)
    except _core.InvalidInput as exc:
        raise rejected(exc, param="prompt") from None
    ctx.usage.record("completions", req.model, answer[2], answer[3])
    return answer


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/completions", Generation(ctx, CompletionRequest, render), methods=["POST"])]
