"""The gateway middleware: API keys, rate limits, injected errors, chaos and overrides, in one pass.

A pure-ASGI middleware around the app. Per request it polls the server-wide serving state (one atomic
read: :mod:`fakeai.runtime.control`, which also applies run-time configuration changes), scans the
headers once (for the key, ``x-request-id`` and ``x-fakeai-*``), echoes the request's
``x-request-id`` on the response (generating one when absent, as vLLM does; an Anthropic request,
one to ``/v1/messages…`` or with an ``anthropic-version`` header, gets the same id as Anthropic's
``request-id`` too), answers inference with
a 503 while the model loads (``--startup-duration``) or the engine sleeps, then, on the inference routes only (``/v1/`` and NVIDIA RAG's ``/rag/api/``): admits the request against the key's shared rate limit buckets, maybe answers with an injected
error (also the first attempts of a request under ``x-fakeai-fail-attempts``:
:mod:`fakeai.gateway.retries`), and maybe wraps ``send`` with chaos. Every ``/v1/`` response of a
rate-limited key carries OpenAI's ``x-ratelimit-*`` headers. The request body is read here only when
a decision needs it (token limits, per-model error rules); the endpoint then receives the same bytes.
``/v1/messages`` (and any request with an ``anthropic-version`` header) has its injected errors in
Anthropic's envelope, status and words (:mod:`fakeai.gateway.faults`: an overloaded engine is a 529),
TGI's routes in TGI's.

A body over ``--max-body-bytes`` is a 413 before any of that, except a ``multipart/form-data`` body,
which may carry a file up to ``--max-file-bytes``: the form readers (:mod:`fakeai.http.multipart`)
enforce each endpoint's own limit as the bytes arrive.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect

from fakeai.errors import ApiError, bad_request
from fakeai.gateway import answers, chaos, faults, overrides, websocket
from fakeai.gateway.answers import ANTHROPIC_PATH, REQUEST_ID, TGI_PATHS
from fakeai.gateway.keys import label
from fakeai.gateway.limits import estimate_tokens, peek
from fakeai.gateway.retries import RequestIds
from fakeai.gateway.state import GatewayState
from fakeai.http import drain
from fakeai.http.asgi import (
    BODY_METHODS,
    EXTRA_HEADERS,
    REQUESTED_MODEL,
    ClientGone,
    Receive,
    Scope,
    Send,
    read_body,
    too_large,
)
from fakeai.http.body_timeout import TIMED_OUT, BodyClock, body_timeout
from fakeai.http.multipart import ENVELOPE_BYTES
from fakeai.runtime.control import Control
from fakeai.runtime.live_config import LiveConfig
from fakeai.settings import Settings

API_PREFIXES = ("/v1/", "/rag/api/")
#: Control routes that ``--admin-key`` guards (the endpoints check it; the API keys then don't apply).
ADMIN_PATHS = ("/admin/", "/sleep", "/wake_up")
#: Routes that need the model: answered 503 while it loads or sleeps (POST only).
INFERENCE_PATHS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/messages",
    "/v1/responses",
    "/v1/audio/",
    "/v1/images/",
    "/v1/moderations",
    "/v1/ranking",
    "/v1/rerank",
    "/rag/",
)
#: Scope key holding the request's id (the client's or the generated one), as bytes.
REQUEST_ID_KEY = "fakeai.request_id"
#: The WebSocket path a Realtime client secret opens in place of an API key.
REALTIME_PATH = "/v1/realtime"
#: The minting key's label of a live Realtime client secret (None: no such secret).
SecretLabel = Callable[[str], str | None]
#: The routes that take a file in a multipart form: their forms may be as large as a file of
#: --max-file-bytes; any other body, multipart or not, is held to --max-body-bytes.
FORM_PATHS = (
    "/v1/files",
    "/v1/uploads/",
    "/v1/images/edits",
    "/v1/images/variations",
    "/v1/audio/",
    "/v1/videos",
)
#: Labels remembered for unconfigured keys (auth off, rate limits on) before they share one bucket.
MAX_SEEN_KEYS = 1024


class Gateway:
    """The middleware (see the module docs)."""

    def __init__(
        self,
        app,
        state: GatewayState,
        control: Control,
        live: LiveConfig,
        body_clock: BodyClock,
        secret_label: SecretLabel | None = None,
    ) -> None:
        self.app = app
        self.secret_label = secret_label
        self.state = state
        self.control = control
        s = state.settings
        self.open_paths = tuple(s.auth_open_paths)
        self.admin_key = bool(s.admin_key)
        self.limit = s.max_body_bytes
        #: What a multipart body to :data:`FORM_PATHS` may hold: a file of --max-file-bytes and its envelope.
        self.form_limit = max(s.max_body_bytes, s.max_file_bytes + ENVELOPE_BYTES)
        self.seen: dict[str, str] = {}
        self.ids = RequestIds()
        self.clock = body_clock
        self.configure(s)
        live.subscribe(self.configure)

    def configure(self, settings: Settings) -> None:
        """Take changed run-time settings (the state was rebuilt before this is called)."""
        self.allow_overrides = settings.request_overrides
        #: Whether any request without x-fakeai-* headers needs a decision here.
        self.active = self.state.decides()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self.websocket(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        control = self.control
        control.poll()
        presented = None
        custom = False
        length = -1
        request_id = None
        anthropic = False
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"authorization":
                presented = value[7:].decode("latin-1").strip() if value[:7].lower() == b"bearer " else ""
            elif name == b"x-api-key":
                presented = value.decode("latin-1").strip()
            elif name == b"content-length":
                length = (int(value) if len(value) < 19 else 1 << 62) if value.isdigit() else 0
            elif name == b"content-type":
                if value[:19].lower() == b"multipart/form-data" and scope["path"].startswith(FORM_PATHS):
                    limit = self.form_limit
            elif name == REQUEST_ID:
                request_id = value
            elif name == b"anthropic-version":
                anthropic = True
            elif name[:9] == overrides.PREFIX or name == overrides.RETURN_ERROR:
                custom = True
        scope[overrides.MARK] = custom  # lets the endpoints skip their own header scan
        timed_out = TIMED_OUT in scope  # the hot path gave up waiting for this body
        if length > 0 or (length < 0 and scope["method"] in BODY_METHODS):
            # the body's reads are timed; an answer before its end drains it first
            read = self.clock.wrap(receive, timed_out)
            receive = read
            if not timed_out:
                send = drain.Drain(read, send, length).send
        scope[REQUEST_ID_KEY] = rid = request_id or self.ids.new()
        anthropic_path = scope["path"].startswith(ANTHROPIC_PATH)
        ids = answers.request_id_headers(rid, anthropic or anthropic_path)
        if EXTRA_HEADERS in scope:  # the metrics middleware's send appends them
            scope[EXTRA_HEADERS].extend(ids)
        else:
            send = answers.with_request_id(send, ids)
        if timed_out:
            await answers.fail(send, scope["path"], body_timeout(self.clock.timeout))
            return
        if length > limit:
            await answers.fail(send, scope["path"], too_large(limit))
            return
        if (control.loading or control.level) and scope["method"] == "POST":
            closed = control.unavailable()
            path = scope["path"]
            if closed is not None and (path.startswith(INFERENCE_PATHS) or path in TGI_PATHS):
                message, code, wait = closed
                error = ApiError(503, message, type="server_error", code=code)
                await answers.send_json(
                    send,
                    503,
                    answers.error(path, 503, message, error.type, code, "overloaded_error"),
                    answers.retry_after(wait),
                )
                return
        if length < 0 and scope["method"] in BODY_METHODS:
            receive = answers.bounded(receive, limit)
        try:
            if not (custom or self.active):
                # nothing to decide: the common case costs one scan
                await self.app(scope, receive, send)
            else:
                await self.handle(scope, receive, send, presented, custom, request_id, anthropic)
        except chaos.Disconnect:
            return  # the response stays incomplete: the client sees the connection cut
        except (ClientGone, ClientDisconnect):
            return  # the client left before the body's end: no one to answer (the metrics count a 499)
        except ApiError as e:  # from reading the body here; the app's own errors never get this far
            await answers.fail(send, scope["path"], e)

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        presented: str | None,
        custom: bool,
        request_id: bytes | None,
        anthropic_version: bool = False,
    ) -> None:
        state, path = self.state, scope["path"]
        # Anthropic's API: its path, or any request an Anthropic SDK sends (errors.is_anthropic)
        anthropic = anthropic_version or path.startswith(ANTHROPIC_PATH)
        wanted = None
        if custom:
            if not self.allow_overrides:
                overrides.strip(scope)
            else:
                try:
                    wanted = overrides.parse(scope["headers"], state.settings.chaos_after)
                except ApiError as e:
                    await answers.fail(send, path, e)
                    return
        key_label = None
        if (
            state.keys
            and not path.startswith(self.open_paths)
            and not (self.admin_key and path.startswith(ADMIN_PATHS))
        ):
            key_label = state.keys.check(presented) if presented else None
            if key_label is None:
                await answers.unauthorized(send, path, presented)
                return
            scope[websocket.KEY] = key_label  # whose request it is, for an endpoint that keeps it
        if not path.startswith(API_PREFIXES) and (path not in TGI_PATHS or scope["method"] != "POST"):
            await self.app(scope, receive, send)
            return
        limits = state.limits.limits_of(key_label) if key_label else state.limits.default
        injector = state.injector
        body = None
        if (limits.counts_tokens or (injector is not None and injector.needs_model)) and scope[
            "method"
        ] == "POST":
            body = await read_body(receive, self.limit)
            receive = answers.replay(body, receive)
        extra: list[tuple[bytes, bytes]] = []
        if limits.any:
            if key_label is None:
                key_label = self._label(presented)
            tokens = estimate_tokens(body, peek(body), path) if body is not None else 0
            refused, retry, extra = state.limits.admit(key_label, limits, tokens)
            if refused:
                await self._requested_model(scope, receive, body)
                await answers.throttled(send, path, refused, retry, limits, tokens, extra)
                return
        fault = wanted.error if wanted is not None else None
        if wanted is not None and wanted.fail_attempts is not None:
            attempt_id = _attempt_id(scope["headers"], request_id)
            if attempt_id is None:
                error = bad_request(
                    "'x-fakeai-fail-attempts' needs an 'x-request-id' header naming the request its "
                    "attempts are counted for.",
                    param="x-request-id",
                    code="missing_request_id",
                )
                await answers.fail(send, path, error)
                return
            failing = state.attempts.next(attempt_id) <= wanted.fail_attempts
            fault = (fault or faults.KINDS["503"]) if failing else None
        elif fault is None and injector is not None:
            model = peek(body).model if body is not None else None
            attempt_id = _attempt_id(scope["headers"], request_id) if injector.counts_attempts else None
            fault = injector.pick(path, model, presented, attempt_id)
        if fault is not None:
            await self._requested_model(scope, receive, body)
            if anthropic:
                body_bytes = fault.anthropic_body()
            elif path in TGI_PATHS:
                body_bytes = answers.tgi_body(fault.status, fault.message)
            else:
                body_bytes = fault.openai_body()
            if fault.retries_after(anthropic):
                extra = [*extra, *answers.retry_after(faults.RETRY_AFTER_S)]
            await answers.send_json(send, fault.status_for(anthropic), body_bytes, extra)
            return
        plan = wanted.chaos if wanted is not None else None
        if plan is None and state.chaos_mix is not None:
            plan = self._draw_chaos()
        if extra:
            send = answers.with_headers(send, extra)
        if plan is not None:
            malformed = chaos.MALFORMED_ANTHROPIC if path.startswith(ANTHROPIC_PATH) else chaos.MALFORMED
            send = chaos.wrap(send, plan, malformed)
        await self.app(scope, receive, send)

    async def _requested_model(self, scope: Scope, receive: Receive, body: bytes | None) -> None:
        """Leave the model a refused request asked for in the scope, so the metrics count its error
        against that model (the body is read only on this error path, when nothing read it yet)."""
        if body is None and scope["method"] == "POST":
            body = await read_body(receive, self.limit)
        model = peek(body).model if body else None
        if type(model) is str:
            scope[REQUESTED_MODEL] = model

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket connection: its key checked before the upgrade, its label put in the scope."""
        presented = websocket.presented_key(scope)
        label = None
        if self.state.keys and not scope["path"].startswith(self.open_paths):
            label = self.state.keys.check(presented) if presented else None
            realtime = scope["path"] == REALTIME_PATH  # a client secret opens the Realtime API only
            if label is None and presented and realtime and self.secret_label is not None:
                minted_by = self.secret_label(presented)  # a Realtime client secret in place of a key
                label = None if minted_by is None else minted_by or "anonymous"
            if label is None:
                body = answers.unauthorized_body(scope["path"], presented)
                await websocket.deny(scope, receive, send, 401, body)
                return
        scope[websocket.KEY] = label or self._label(presented)
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


def _attempt_id(headers: list[tuple[bytes, bytes]], request_id: bytes | None) -> str | None:
    """What identifies one logical request across its attempts: the client's ``x-request-id``, else an
    ``idempotency-key`` header."""
    if request_id is not None:
        return request_id.decode("latin-1")
    for name, value in headers:
        if name == b"idempotency-key":
            return value.decode("latin-1")
    return None


def middleware(
    settings: Settings,
    state: GatewayState,
    control: Control,
    live: LiveConfig,
    body_clock: BodyClock,
    secret_label: SecretLabel | None = None,
) -> list[Middleware]:
    """The app's middleware: CORS (when origins are set) outside the gateway. The gateway is always in
    place, since any request may carry an ``x-fakeai-*`` header (or must have them removed).
    ``secret_label``: the minting key's label of a live Realtime client secret, None for any other
    value (:func:`fakeai.api.realtime_secrets.key_label`)."""
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
    stack.append(
        Middleware(
            Gateway, state=state, control=control, live=live, body_clock=body_clock, secret_label=secret_label
        )
    )
    return stack
