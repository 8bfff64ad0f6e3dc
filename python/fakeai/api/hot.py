"""The Rust hot path: the ASGI app granian calls, serving chat, completions, embeddings and Anthropic's
messages without a Python frame when nothing about the request needs Python (``fakeai._core.HotApp``).

A request takes it when it is a ``POST`` to :data:`~fakeai.http.hot_routes.HOT_PATHS` with a
``content-length`` within ``--max-body-bytes`` (not a multipart form), carries no header the Python
chain acts on (``x-fakeai-*``, ``X-Return-Error``), and the server is *quiet* (:func:`rearm`): no API
keys, rate limits, injected faults or chaos, no LoRA adapter, not loading or asleep. ``/v1/messages``
also needs its ``anthropic-version`` header and no ``tools`` (:mod:`fakeai.api.messages`). ``--access-log``,
``--cors-origin``, ``--max-waiting-queue-length`` and ``--kv-events`` switch it off (:func:`usable`).
Whether the server is quiet is asked again whenever the control table's change counter or the LoRA
registry's version moves, both shared words that the Rust side reads on every request, so a change made
through any worker (``POST /admin/config``, ``/sleep``, loading an adapter) applies to the very next
request of every worker.

On the Rust path the body is read and decoded (the route's msgspec decoder), the core renders it with
arguments prepared once per model (:func:`fakeai.engine.render.chat_call`, reset on every change), and
a body due now is sent at once; an answer with a schedule (latency, the engine model, a stream) is sent
by the Python pacer (:meth:`fakeai.engine.cluster.SimulatedCluster.respond`) driven from Rust. Metrics
are recorded as :class:`~fakeai.observability.MetricsMiddleware` records them, and responses carry the
same headers (the pod headers, then ``x-request-id``). Anything else (a body that does not decode, a
field with a rule of its own, a chat completion to store (``store: true``, :mod:`fakeai.api.chat_store`),
any error, a client gone mid-body) goes to the Python chain with the body replayed, so it answers
exactly as before. ``fakeai_hot_path_requests_total`` counts the requests the
Rust path served.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fakeai import _core
from fakeai.api import messages
from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.engine.lora import VERSION_KEY
from fakeai.gateway import overrides
from fakeai.http.body_timeout import TIMED_OUT
from fakeai.http.hot_routes import HotRoutes
from fakeai.runtime.control import CHANGES
from fakeai.schemas.common import MAX_JSON_DEPTH, MAX_JSON_WEIGHT

#: Control-table key whose word 0 counts the requests the Rust path served, server-wide.
SERVED = "hot"
#: The hot routes' kinds, by path.
KINDS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completion",
    "/v1/embeddings": "embeddings",
    "/v1/messages": "messages",
}


def usable(ctx: ServerContext) -> bool:
    """Whether the settings leave the Rust path anything to serve (see the module docs)."""
    s = ctx.settings
    return (
        s.hot_path
        and not s.access_log
        and not s.cors_origins
        and not ctx.cluster.bounded
        and ctx.cluster.kv_events is None
    )


def rearm(ctx: ServerContext) -> Callable[[], tuple[int, int, bool]]:
    """``rearm()`` -> ``(change counter seen, LoRA version seen, quiet)``, applying pending changes
    first (as the gateway's poll does). Each value is read before the state it covers, so a change made
    meanwhile moves a word again and the next request asks anew; while the model loads the answer is
    not kept (-1), since loading ends without a change."""
    control, gateway, loras = ctx.control, ctx.gateway, ctx.loras

    def arm() -> tuple[int, int, bool]:
        lora_version = loras.table.add(VERSION_KEY, 0, 0)
        control.poll()
        seen = control.seen
        available = control.unavailable() is None and not control.level
        quiet = available and not gateway.decides() and not loras.all()
        return (-1 if control.loading else seen), lora_version, quiet

    return arm


def app(hot: HotRoutes, ctx: ServerContext, trailing: list[tuple[bytes, bytes]]) -> _core.HotApp | HotRoutes:
    """The ASGI app for granian: the Rust hot path in front of ``hot`` (or ``hot`` alone, when not
    :func:`usable`). ``trailing``: the headers the Python chain appends to every response before
    ``x-request-id`` (:func:`fakeai.http.pod_headers.headers`)."""
    if not usable(ctx):
        return hot
    prepare: dict[str, Callable] = {
        "chat": lambda model: render.chat_call(ctx, model),
        "completion": lambda model: render.chat_call(ctx, model),
        "embeddings": lambda model: render.embedding_dims(ctx, model),
        "messages": lambda model: messages.messages_call(ctx, model),
    }
    routes: list[tuple[str, str, Callable[[bytes], Any], Callable[[str], Any]]] = []
    for path, endpoint in hot.endpoints.items():
        kind = KINDS[path]
        routes.append((path, kind, endpoint.decoder.decode, prepare[kind]))
    m = ctx.metrics
    return _core.HotApp(
        fallback=hot,
        rearm=rearm(ctx),
        control=ctx.control.table,
        control_key=CHANGES,
        served_key=SERVED,
        loras=ctx.loras.table,
        lora_key=VERSION_KEY,
        routes=routes,
        limit=ctx.settings.max_body_bytes,
        max_depth=MAX_JSON_DEPTH,
        max_weight=MAX_JSON_WEIGHT,
        override_prefix=overrides.PREFIX,
        return_error=overrides.RETURN_ERROR,
        metrics=(m.table, m.slo_seconds) if m.enabled else None,
        meter=ctx.usage.core,
        respond=ctx.cluster.respond,
        monotonic=time.monotonic,
        headers=trailing,
        body_clock=ctx.body_clock,
        timed_out_key=TIMED_OUT,
    )


def served(ctx: ServerContext) -> int:
    """Requests the Rust path served, server-wide."""
    return ctx.control.table.add(SERVED, 0, 0)
