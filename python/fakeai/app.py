"""Assembling the Starlette application from each API module's routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from fakeai import pod_headers
from fakeai.api import (
    chat,
    completions,
    dashboard,
    dcgm,
    embeddings,
    health,
    images,
    lora,
    messages,
    metrics,
    models,
    moderations,
    rag,
    ranking,
    ratelimits,
    speech,
    transcriptions,
)
from fakeai.context import ServerContext
from fakeai.errors import exception_handlers
from fakeai.gateway.middleware import middleware as gateway_middleware
from fakeai.observability import MetricsMiddleware
from fakeai.settings import Settings

#: Route modules, hottest first: Starlette matches routes in order.
API_MODULES = (
    chat,
    completions,
    embeddings,
    messages,
    models,
    health,
    lora,
    ratelimits,
    metrics,
    dcgm,
    dashboard,
    images,
    speech,
    transcriptions,
    moderations,
    ranking,
    rag,
)


def create_app(settings: Settings | None = None) -> Starlette:
    ctx = ServerContext(settings or Settings())
    routes = [route for module in API_MODULES for route in module.routes(ctx)]
    middleware = [Middleware(MetricsMiddleware, metrics=ctx.metrics)] if ctx.metrics.enabled else []
    middleware += gateway_middleware(ctx.settings, ctx.gateway)
    middleware += pod_headers.middleware(ctx.settings)
    app = Starlette(routes=routes, exception_handlers=exception_handlers, middleware=middleware)
    app.state.ctx = ctx
    return app


def app_from_env() -> Starlette:
    """The app factory granian calls in each worker: settings come from ``FAKEAI_*`` variables."""
    return create_app(Settings.from_env())
