"""``POST /v1/chat/completions``: decode, one call into the Rust core, send on the simulated schedule."""

from __future__ import annotations

from starlette.routing import Route

from fakeai.api.generation import Generation
from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.schemas.chat import ChatRequest


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/chat/completions", Generation(ctx, ChatRequest, render.chat), methods=["POST"])]
