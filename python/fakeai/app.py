"""Assembling the Starlette application from each API module's routes."""

from __future__ import annotations

from starlette.applications import Starlette

from fakeai.api import chat, completions, dynamo, embeddings, health, models
from fakeai.context import ServerContext
from fakeai.errors import exception_handlers
from fakeai.settings import Settings

#: Route modules, hottest first: Starlette matches routes in order.
API_MODULES = (chat, completions, embeddings, models, health, dynamo)


def create_app(settings: Settings | None = None) -> Starlette:
    ctx = ServerContext(settings or Settings())
    routes = [route for module in API_MODULES for route in module.routes(ctx)]
    app = Starlette(routes=routes, exception_handlers=exception_handlers)
    app.state.ctx = ctx
    return app


def app_from_env() -> Starlette:
    """The app factory granian calls in each worker: settings come from ``FAKEAI_*`` variables."""
    return create_app(Settings.from_env())
