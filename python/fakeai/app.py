"""Assembling the Starlette application from each API module's routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from fakeai._core import HotApp
from fakeai.api import (
    admin,
    batches,
    chat,
    chat_store,
    completions,
    containers,
    conversations,
    dashboard,
    dcgm,
    dynamo,
    embeddings,
    evals,
    files,
    fine_tuning,
    fine_tuning_permissions,
    health,
    hot,
    images,
    lora,
    message_batches,
    messages,
    metrics,
    models,
    moderations,
    organization,
    organization_projects,
    rag,
    ranking,
    ratelimits,
    realtime,
    realtime_secrets,
    responses,
    responses_compact,
    responses_socket,
    skills,
    sleep,
    speech,
    tgi,
    tokenize,
    transcriptions,
    uploads,
    usage,
    vector_store_files,
    vector_stores,
    videos,
)
from fakeai.context import ServerContext
from fakeai.engine.background import Poller
from fakeai.engine.batches import BatchRunner
from fakeai.engine.evals import EvalRunner
from fakeai.engine.fine_tuning import FineTuningRunner
from fakeai.engine.message_batches import MessageBatchRunner
from fakeai.engine.vector_index import IndexRunner
from fakeai.errors import exception_handlers
from fakeai.gateway.middleware import middleware as gateway_middleware
from fakeai.http import pod_headers
from fakeai.http.hot_routes import HotRoutes
from fakeai.observability import MetricsMiddleware
from fakeai.observability.access_log import AccessLog
from fakeai.runtime import heap
from fakeai.runtime.connections import Reaper
from fakeai.settings import Settings

#: Route modules, hottest first: Starlette matches routes in order.
API_MODULES = (
    chat,
    completions,
    embeddings,
    messages,
    message_batches,
    models,
    health,
    tokenize,
    admin,
    sleep,
    lora,
    ratelimits,
    metrics,
    dcgm,
    dashboard,
    dynamo,
    images,
    videos,
    speech,
    transcriptions,
    moderations,
    ranking,
    rag,
    tgi,
    files,
    uploads,
    batches,
    vector_stores,
    vector_store_files,
    containers,
    skills,
    conversations,
    responses_compact,  # before responses: its /v1/responses/{response_id} takes any name
    responses,
    responses_socket,  # the WebSocket of /v1/responses: its POST matches first
    chat_store,
    fine_tuning,
    fine_tuning_permissions,
    evals,
    realtime,
    realtime_secrets,
    usage,
    organization,
    organization_projects,
)


def create_app(settings: Settings | None = None) -> HotApp | HotRoutes:
    """The server's ASGI app: the Starlette app of every route, behind the hot-route shortcut, behind
    the Rust hot path (:mod:`fakeai.api.hot`) when the settings allow it."""
    ctx = ServerContext(settings or Settings())
    routes = [route for module in API_MODULES for route in module.routes(ctx)]
    # outermost first: the access log sees the status every layer below settled on
    middleware = [Middleware(AccessLog)] if ctx.settings.access_log else []
    middleware += (
        [Middleware(MetricsMiddleware, metrics=ctx.metrics, routes=routes)] if ctx.metrics.enabled else []
    )
    middleware += gateway_middleware(
        ctx.settings,
        ctx.gateway,
        ctx.control,
        ctx.live,
        ctx.body_clock,
        secret_label=lambda value: realtime_secrets.key_label(ctx.store, value),
    )
    middleware += pod_headers.middleware(ctx.settings)
    jobs = [
        BatchRunner(ctx).job(),
        MessageBatchRunner(ctx).job(),
        IndexRunner(ctx.store).job(),
        FineTuningRunner(ctx.store, ctx.settings.fine_tune_duration_s, ctx.settings.max_storage_bytes).job(),
        EvalRunner(ctx).job(),
    ]
    poller = Poller(ctx.store, jobs)
    app = Starlette(
        routes=routes, exception_handlers=exception_handlers, middleware=middleware, lifespan=poller.lifespan
    )
    # No redirect to the path without its trailing slash: Starlette builds that redirect's absolute URL
    # from the client's Host header (an open redirect); an unknown path is a 404 envelope, as OpenAI's.
    app.router.redirect_slashes = False
    app.state.ctx = ctx
    return hot.app(HotRoutes(app, middleware), ctx, pod_headers.headers(ctx.settings))


def app_from_env() -> HotApp | HotRoutes:
    """The app factory granian calls in each worker: settings come from ``FAKEAI_*`` variables. Each
    worker also starts its reaper of silent connections (:mod:`fakeai.runtime.connections`) and then
    settles its garbage collector (:mod:`fakeai.runtime.heap`)."""
    settings = Settings.from_env()
    app = create_app(settings)
    Reaper.of(settings).start()
    heap.settle()
    return app
