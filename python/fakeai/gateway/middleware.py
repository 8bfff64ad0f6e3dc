"""The gateway middleware: API keys, rate limits, injected errors, chaos and overrides, in one pass.

A pure-ASGI middleware around the app. Per request it scans the headers once (for the key and for
``x-fakeai-*``), then, on the inference routes only (``/v1/`` and NVIDIA RAG's ``/rag/api/``): admits the request against the key's shared rate
limit buckets, maybe answers with an injected error, and maybe wraps ``send`` with chaos. Every
``/v1/`` response of a rate-limited key carries OpenAI's ``x-ratelimit-*`` headers. The request body
is read here only when a decision needs it (token limits, per-model error rules); the endpoint then
receives the same bytes. ``/v1/messages`` answers its errors in Anthropic's envelope.

A body over ``--max-body-bytes`` is a 413 before any of that, except a ``multipart/form-data`` body,
which may carry a file up to ``--max-file-bytes``: the form readers (:mod:`fakeai.http.multipart`)
enforce each endpoint's own limit as the bytes arrive.
"""

from __future__ import annotations

import math

import orjson
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from fakeai.errors import ApiError
from fakeai.gateway import chaos, faults, overrides
from fakeai.gateway.keys import label, mask
from fakeai.gateway.limits import Limits, estimate_tokens, peek
from fakeai.gateway.state import GatewayState
from fakeai.http.asgi import ClientGone, Receive, Scope, Send, read_body, too_large
from fakeai.http.multipart import ENVELOPE_BYTES
from fakeai.settings import Settings

API_PREFIXES = ("/v1/", "/rag/api/")
ANTHROPIC_PATH = "/v1/messages"
#: Labels remembered for unconfigured keys (auth off, rate limits on) before they share one bucket.
MAX_SEEN_KEYS = 1024


#: The limit that refused a request (``RateLimiter.admit``'s code) and how OpenAI's message names it.
_REFUSED = {
    1: ("rpm", "requests per min (RPM)"),
    2: ("tpm", "tokens per min (TPM)"),
    3: ("rpd", "requests per day (RPD)"),
    4: ("tpd", "tokens per day (TPD)"),
}


def _wait(seconds: float) -> str:
    """A wait as OpenAI's 429 messages write it: ``120ms``, ``1.5s``, ``6m0s``, ``2h5m0s``."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


def _error(path: str, status: int, message: str, type: str, code: str | None, anthropic_type: str) -> bytes:
    if path.startswith(ANTHROPIC_PATH):
        return orjson.dumps({"type": "error", "error": {"type": anthropic_type, "message": message}})
    return ApiError(status, message, type=type, code=code).body()


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or ()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    done = False

    async def replayed() -> dict:
        nonlocal done
        if done:
            return await receive()
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _bounded(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises a 413 once a body sent without a length passes ``limit`` bytes."""
    size = 0

    async def bounded() -> dict:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise too_large(limit)
        return message

    return bounded


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]  # each response's own dict
        await send(message)

    return sending


class Gateway:
    """The middleware (see the module docs)."""

    def __init__(self, app, state: GatewayState) -> None:
        self.app = app
        self.state = state
        s = state.settings
        self.open_paths = tuple(s.auth_open_paths)
        self.limit = s.max_body_bytes
        #: What a multipart body may hold: a file of --max-file-bytes and its envelope.
        self.form_limit = max(s.max_body_bytes, s.max_file_bytes + ENVELOPE_BYTES)
        self.allow_overrides = s.request_overrides
        self.seen: dict[str, str] = {}
        #: Whether any request without x-fakeai-* headers needs a decision here.
        self.active = bool(state.keys or state.limits.active or state.injector or state.chaos_mix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = None
        custom = False
        length = -1
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"authorization":
                presented = value[7:].decode("latin-1").strip() if value[:7].lower() == b"bearer " else ""
            elif name == b"x-api-key":
                presented = value.decode("latin-1").strip()
            elif name == b"content-length":
                length = (int(value) if len(value) < 19 else 1 << 62) if value.isdigit() else 0
            elif name == b"content-type":
                limit = self.form_limit if value[:19].lower() == b"multipart/form-data" else self.limit
            elif name[:9] == overrides.PREFIX:
                custom = True
        scope[overrides.MARK] = custom  # lets the endpoints skip their own header scan
        if length > limit:
            await self._fail(send, scope["path"], too_large(limit))
            return
        if length < 0 and scope["method"] in ("POST", "PUT", "PATCH"):
            receive = _bounded(receive, limit)
        if not (custom or self.active):
            await self.app(scope, receive, send)  # nothing to decide: the common case costs one scan
            return
        try:
            await self.handle(scope, receive, send, presented, custom)
        except chaos.Disconnect:
            return  # the response stays incomplete: the client sees the connection cut
        except ClientGone:
            return
        except ApiError as e:  # from reading the body here; the app's own errors never get this far
            await self._fail(send, scope["path"], e)

    async def handle(
        self, scope: Scope, receive: Receive, send: Send, presented: str | None, custom: bool
    ) -> None:
        state, path = self.state, scope["path"]
        wanted = None
        if custom:
            if not self.allow_overrides:
                overrides.strip(scope)
            else:
                try:
                    wanted = overrides.parse(scope["headers"], state.settings.chaos_after)
                except ApiError as e:
                    await self._fail(send, path, e)
                    return
        key_label = None
        if state.keys and not path.startswith(self.open_paths):
            key_label = state.keys.check(presented) if presented else None
            if key_label is None:
                await self._unauthorized(send, path, presented)
                return
        if not path.startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        limits = state.limits.limits_of(key_label) if key_label else state.limits.default
        injector = state.injector
        body = None
        if (limits.counts_tokens or (injector is not None and injector.needs_model)) and scope[
            "method"
        ] == "POST":
            body = await read_body(receive, self.limit)
            receive = _replay(body, receive)
        extra: list[tuple[bytes, bytes]] = []
        if limits.any:
            if key_label is None:
                key_label = self._label(presented)
            tokens = estimate_tokens(body, peek(body), path) if body is not None else 0
            refused, retry, extra = state.limits.admit(key_label, limits, tokens)
            if refused:
                await self._throttled(send, path, refused, retry, limits, tokens, extra)
                return
        fault = wanted.error if wanted is not None else None
        if fault is None and injector is not None:
            fault = injector.pick(path, peek(body).model if body is not None else None)
        if fault is not None:
            body_bytes = fault.anthropic_body() if path.startswith(ANTHROPIC_PATH) else fault.openai_body()
            await _send(send, fault.status, body_bytes, extra)
            return
        plan = wanted.chaos if wanted is not None else None
        if plan is None and state.chaos_mix is not None:
            plan = self._draw_chaos()
        if extra:
            send = _with_headers(send, extra)
        if plan is not None:
            anthropic = path.startswith(ANTHROPIC_PATH)
            send = chaos.wrap(send, plan, chaos.MALFORMED_ANTHROPIC if anthropic else chaos.MALFORMED)
        await self.app(scope, receive, send)

    def _label(self, presented: str | None) -> str:
        if not presented:
            return "anonymous"
        found = self.seen.get(presented)
        if found is None:
            found = label(presented) if len(self.seen) < MAX_SEEN_KEYS else "other"
            self.seen[presented] = found
        return found

    def _draw_chaos(self) -> chaos.Plan | None:
        state = self.state
        n = state.counter.add("chaos", 0, 1)
        s = state.settings
        if faults.unit(s.fault_seed, n, 3) >= s.chaos_rate:
            return None
        behaviour = state.chaos_mix.pick(faults.unit(s.fault_seed, n, 4))  # type: ignore[union-attr]
        return chaos.Plan.drawn(behaviour, s.chaos_after, s.chaos_delay_ms / 1000.0)  # type: ignore[arg-type]

    async def _fail(self, send: Send, path: str, e: ApiError) -> None:
        if not path.startswith(ANTHROPIC_PATH):
            await _send(send, e.status, e.body())
            return
        anthropic = "request_too_large" if e.status == 413 else "invalid_request_error"
        await _send(send, e.status, _error(path, e.status, e.message, e.type, e.code, anthropic))

    async def _unauthorized(self, send: Send, path: str, presented: str | None) -> None:
        if presented:
            message = (
                f"Incorrect API key provided: {mask(presented)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
        else:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        if path.startswith(ANTHROPIC_PATH):
            message = "invalid x-api-key" if presented else "x-api-key header is required"
        await _send(
            send,
            401,
            _error(path, 401, message, "invalid_request_error", "invalid_api_key", "authentication_error"),
        )

    async def _throttled(
        self,
        send: Send,
        path: str,
        refused: int,
        retry: float,
        limits: Limits,
        tokens: int,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        field, unit = _REFUSED[refused]
        limit = getattr(limits, field)
        detail = (
            f"Limit {limit}, Requested {tokens}."
            if field[0] == "t"
            else f"Limit {limit}, Used {limit}, Requested 1."
        )
        message = (
            f"Rate limit reached for {unit}: {detail} Please try again in {_wait(retry)}. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        what = "tokens" if field[0] == "t" else "requests"
        body = _error(path, 429, message, what, "rate_limit_exceeded", "rate_limit_error")
        retry_headers = [
            (b"retry-after", str(max(1, math.ceil(retry))).encode()),
            (b"retry-after-ms", str(max(1, math.ceil(retry * 1000))).encode()),
        ]
        await _send(send, 429, body, [*headers, *retry_headers])


def middleware(settings: Settings, state: GatewayState) -> list[Middleware]:
    """The app's middleware: CORS (when origins are set) outside the gateway. The gateway is always in
    place, since any request may carry an ``x-fakeai-*`` header (or must have them removed)."""
    stack = []
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["*"],
                max_age=600,
            )
        )
    stack.append(Middleware(Gateway, state=state))
    return stack
