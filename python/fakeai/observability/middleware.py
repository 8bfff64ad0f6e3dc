"""A pure-ASGI middleware that counts every HTTP request by route, status and error type.

It wraps ``send`` to see the status (and, for errors only, the OpenAI envelope's ``type`` and
``code``), and records when the response is done. Its wrapper is also the one that appends the inner
layers' response headers (:data:`~fakeai.http.asgi.EXTRA_HEADERS`: the gateway's ``x-request-id``).
The endpoint label is the matched route's template (``/v1/models/{model_id:path}``), never the raw
path, so user input cannot grow the label set; a request answered before the router saw it (an
injected fault, a 429, a 401 from the gateway) is labelled with the route its path matches, and one
that matches no route is counted as ``unmatched``.

A request counts against a model once its inference is recorded (by the core call that renders it,
see :mod:`fakeai.observability.recorder`); a request that failed before that (an injected fault, a 429, a context-length 400) counts as a request
and an error of the model it asked for when the gateway or the endpoint left that model in the
scope (:data:`~fakeai.http.asgi.REQUESTED_MODEL`): the per-model errors add up to the server's. The label
it was counted under is then left in the scope (:data:`~fakeai.observability.recorder.MODEL_KEY`), where
the access log, outside this middleware, reads it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence

import orjson
from starlette.routing import BaseRoute, Match

from fakeai import _core
from fakeai.http.asgi import BODY_SEND, EXTRA_HEADERS, REQUESTED_MODEL, Message, Receive, Scope, Send
from fakeai.observability.recorder import MODEL_KEY, Metrics

UNMATCHED = "unmatched"
log = logging.getLogger("fakeai")


def error_kind(status: int, body: bytes) -> tuple[str, str]:
    """OpenAI error ``(type, code)`` of an error response, read from its envelope when it has one."""
    try:
        error = orjson.loads(body)["error"]
        return str(error.get("type") or "error"), str(error.get("code") or "none")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return ("server_error" if status >= 500 else "invalid_request_error"), f"http_{status}"


class MetricsMiddleware:
    def __init__(self, app, metrics: Metrics, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.routes = routes
        self.table = metrics.table
        self.slo_seconds = metrics.slo_seconds
        self.max_models = metrics.max_models

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0
        error_body = b""

        def sending(message: Message) -> Awaitable[None]:
            # A plain function returning the server's awaitable: no coroutine of its own per message
            # (a stream sends one message per token).
            nonlocal status, error_body
            if status >= 400 and message["type"] == "http.response.body" and len(error_body) < 4096:
                error_body += message.get("body", b"")
            elif message["type"] == "http.response.start":
                status = message["status"]
                if extra:
                    message["headers"] = [*message.get("headers", ()), *extra]
            return send(message)

        # neither refers to the scope: no reference cycle for the garbage collector to find
        extra: list[tuple[bytes, bytes]] = []
        scope[EXTRA_HEADERS] = extra
        scope[BODY_SEND] = (sending, send)  # a 2xx body passes through sending untouched
        _core.metrics_begin(self.table)
        try:
            await self.app(scope, receive, sending)
        except BaseException:
            if status == 0:
                status, error_body = 500, b""
            raise
        finally:
            route = scope.get("route")
            error = error_kind(status, error_body) if status >= 400 else None
            if route is None and error is not None:
                route = self._route_of(scope)
            try:
                model = scope.get(MODEL_KEY)
                if model is None and error is not None:
                    model = scope[MODEL_KEY] = self._failed_model(scope)  # for the access log too
                _core.metrics_finish(
                    self.table,
                    route.path if route is not None else UNMATCHED,
                    status or 499,
                    time.perf_counter() - start,
                    self.slo_seconds,
                    model,
                    error,
                )
            except _core.InvalidInput:  # a full table (labels are bounded) must never fail a request
                log.warning("metrics table full: request not recorded")

    def _route_of(self, scope: Scope) -> BaseRoute | None:
        """The route a request answered before routing would have reached (any method), if any."""
        for route in self.routes:
            if route.matches(scope)[0] != Match.NONE:
                return route
        return None

    def _failed_model(self, scope: Scope) -> str | None:
        """The model label of a request that failed before its inference was recorded, if it named one:
        counted as an inference of no tokens, so that the finish counts its request and error."""
        requested = scope.get(REQUESTED_MODEL)
        if type(requested) is not str:
            return None
        try:
            return _core.metrics_inference(self.table, requested, self.max_models, 0, 0, None)
        except _core.InvalidInput:  # a full table: the request still counts server-wide
            return None
