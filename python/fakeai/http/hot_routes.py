"""A shortcut for the hottest routes: exact-path POSTs skip Starlette's per-request machinery.

Load tests send almost nothing but ``POST /v1/chat/completions`` (and completions, embeddings,
Anthropic's messages, the Responses API). For
those exact paths the app dispatches straight to the endpoint, through the same pure-ASGI middleware
as every other route (metrics, gateway, pod headers), with the error handling Starlette would apply:
an :class:`~fakeai.errors.ApiError` becomes its OpenAI envelope, another exception the app has a
handler for (:data:`fakeai.errors.exception_handlers`) that handler's answer, anything else a logged
500 envelope.
Everything else (other paths, other methods, WebSockets, lifespan) goes to the Starlette app, which
still routes these paths too (for its 405s and route listing). This saves the server error and
exception middleware layers, a ``Request`` object and route matching on every hot request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, cast

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from fakeai.errors import ApiError, exception_handlers
from fakeai.gateway import chaos
from fakeai.http.asgi import ClientGone, Receive, Scope, Send

log = logging.getLogger("fakeai")

#: Exact paths the Rust hot path serves (POST only; :mod:`fakeai.api.hot`).
HOT_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages")
#: Exact paths served through the shortcut (POST only): the hot paths, and ``/v1/responses``, which
#: only Python serves but which sat behind a hundred routes in Starlette's list (matching them was a
#: tenth of a stored response's time).
SHORTCUT_PATHS = (*HOT_PATHS, "/v1/responses")


class Decoding(Protocol):
    """A hot route's endpoint: it decodes its request body with ``decoder``, which the Rust hot path
    uses too (:mod:`fakeai.api.hot`)."""

    decoder: msgspec.json.Decoder[Any]


class _Guarded:
    """One route's endpoint with Starlette's error handling, for the shortcut. The endpoints raise
    their errors before they send anything; an error after the response started only ends it."""

    def __init__(self, route: Route) -> None:
        self.endpoint = route.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.endpoint(scope, receive, send)
        except ClientGone:
            return
        except ApiError as e:
            await _answer(e, scope, receive, send)
        except chaos.Disconnect:
            raise  # a drawn disconnect: the gateway ends the response where it was cut
        except Exception as e:
            handler = next((exception_handlers[t] for t in type(e).__mro__ if t in exception_handlers), None)
            if handler is not None and handler is not exception_handlers[Exception]:
                try:
                    await (await handler(Request(scope, receive), e))(scope, receive, send)
                except RuntimeError:  # the response had already started
                    pass
                return
            log.exception("unexpected error on POST %s", scope["path"])
            error = ApiError(
                500, "The server had an error while processing your request.", type="server_error"
            )
            await _answer(error, scope, receive, send)


async def _answer(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        await error.response()(scope, receive, send)
    except RuntimeError:  # the response had already started: nothing more can be said
        pass


class HotRoutes:
    """The ASGI app: the shortcut for :data:`SHORTCUT_PATHS`, the Starlette ``app`` for everything else."""

    def __init__(self, app: Starlette, middleware: Sequence[Middleware]) -> None:
        self.app = app
        self.state = app.state
        self.routes = app.routes
        self.hot: dict[str, tuple[Route, object]] = {}
        #: The Rust hot path's endpoints (their ``decoder``: fakeai.api.hot).
        self.endpoints: dict[str, Decoding] = {}
        for route in app.routes:
            if isinstance(route, Route) and route.path in SHORTCUT_PATHS and "POST" in (route.methods or ()):
                chain: object = _Guarded(route)
                for cls, args, kwargs in reversed(middleware):
                    chain = cls(chain, *args, **kwargs)
                self.hot[route.path] = (route, chain)
                if route.path in HOT_PATHS:
                    self.endpoints[route.path] = cast(Decoding, route.app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            hot = self.hot.get(scope["path"])
            if hot is not None:
                scope["route"] = hot[0]
                await hot[1](scope, receive, send)  # type: ignore[operator]
                return
        await self.app(scope, receive, send)
