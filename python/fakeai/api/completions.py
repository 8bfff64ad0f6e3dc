"""``POST /v1/completions`` (legacy text completions)."""

from __future__ import annotations

from starlette.routing import Route

from fakeai.api.generation import Generation
from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.schemas.completions import CompletionRequest


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/completions", Generation(ctx, CompletionRequest, render.completion), methods=["POST"])]
