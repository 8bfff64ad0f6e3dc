"""``POST /v1/chat/completions``: decode, one call into the Rust core, send on the simulated schedule
(a ``store: true`` request's completion is stored first: :mod:`fakeai.api.chat_store`)."""

from __future__ import annotations

from starlette.routing import Route

from fakeai.api.chat_store import storing
from fakeai.api.generation import Generation
from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.schemas.chat import ChatRequest


def routes(ctx: ServerContext) -> list[Route]:
    chat = Generation(ctx, ChatRequest, storing(ctx, render.chat))
    return [Route("/v1/chat/completions", chat, methods=["POST"])]
