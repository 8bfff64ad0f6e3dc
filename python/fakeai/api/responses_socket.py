"""The Responses API's WebSocket mode: a persistent WebSocket on ``/v1/responses`` (what the SDK's
``client.responses.connect()`` opens), carrying ``response.create`` and ``response.steer`` events.

A ``response.create`` is a ``POST /v1/responses`` body with ``"type": "response.create"``: it is decoded
and checked as that body is (a bad one is an ``error`` event with the HTTP answer's ``error`` object,
its ``status`` and the lane's ``stream_id``; the socket stays open), generated and stored (``store``)
by :mod:`fakeai.api.responses`' own functions, and its events are the streamed create's
(``response.created`` ... ``response.completed``), each a text frame of the SSE event's JSON, paced
on the model's TTFT and ITL (with the upgrade's ``x-fakeai-*`` headers) as that stream is.
``stream`` is implied (its value is ignored); ``background`` is refused, as the SDK documents;
``generate: false`` (a warmup) answers ``response.created``, ``response.in_progress`` and
``response.completed`` at once, with no output and no output tokens (fakeai still renders the turn
it throws away, so the engine's metrics count it).

Lanes, as the SDK's ``openai/lib/responses_websocket/README.md`` describes the service: a create's
``stream_id`` (1-256 of ``A-Za-z0-9_.-``, else ``invalid_stream_id``) names its lane; each lane runs
its creates one at a time, in order (a create sent while one runs waits its turn: no error), lanes run
side by side, at most :data:`MAX_ACTIVE` responses at once (the rest wait), and a connection takes
:data:`MAX_LANES` distinct names (then ``websocket_stream_limit_reached``; the default lane, no
``stream_id``, is not counted). Events of a named lane carry its ``stream_id``. A create's errors
come in its lane's order, since it is checked when its turn comes (but for those of its
``stream_id`` and the connection's age, answered at once).

``previous_response_id`` chains across events: the conversation each lane's newest response ends
with is kept in a connection-local cache (:data:`MAX_CACHED_BYTES` a response, :data:`MAX_CACHE_BYTES`
in all: past it the oldest lanes' go), so a ``store: false`` response can be continued on the connection, as on
OpenAI's; other ids are read from the store. An id in neither is ``previous_response_not_found``
(status 400, OpenAI's WebSocket code; ``POST /v1/responses`` answers fakeai's 404), and an error of a
continuation on its parent's lane evicts that parent from the cache. Steering
(``response.steer``): :mod:`fakeai.api.responses_steering`.

Bounds: the API key is checked before the upgrade (:mod:`fakeai.gateway.websocket`) and each create
counts as one request against the key's rate limits when its turn comes (``rate_limit_exceeded``,
status 429; a steered response's automatic successor is not counted); a client event larger than the Realtime API's :data:`~fakeai.api.realtime.MAX_EVENT_BYTES`
closes the socket with 1009, one nested too deep or not JSON is an ``error`` event; while creates
waiting for their turn pass :data:`MAX_QUEUED` or :data:`MAX_QUEUED_BYTES` the server reads nothing
more from the socket (backpressure, no error: a close the client sends meanwhile is read once a
waiting create starts); a create on a connection older than
:data:`LIFETIME_S` (OpenAI's 60 minutes) is ``websocket_connection_limit_reached``, and the client
should reconnect (responses already under way finish). Like the Realtime endpoint, nothing bounds
the rate of events beyond their cost: each is handled before the next is read. Connections open at
once count with the Realtime sessions against ``--max-realtime-sessions``: one past it gets an
``error`` event (status 429, code ``session_limit_reached``) and close code 1013 (see
:mod:`fakeai.api.realtime`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from fakeai.api.realtime import SESSION_LIMIT, receive_event, refuse_session, session_limit_message
from fakeai.api.responses import events, keep, produce, records
from fakeai.api.responses_steering import DELTA, Steer, Steering, cut
from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request, invalid_body
from fakeai.gateway import overrides
from fakeai.gateway import websocket as ws_gateway
from fakeai.gateway.limits import DEFAULT_BUDGET
from fakeai.gateway.overrides import Overrides
from fakeai.http.asgi import Endpoint, Receive, Scope, Send
from fakeai.observability.middleware import error_kind
from fakeai.observability.recorder import Outcome
from fakeai.runtime.ws_sessions import Sessions
from fakeai.schemas.responses import ResponseRequest
from fakeai.store import Obj

log = logging.getLogger("fakeai")

#: Responses generated at once on a connection, and the distinct named lanes it takes (OpenAI's).
MAX_ACTIVE = 16
MAX_LANES = 32
STREAM_ID = re.compile(r"[A-Za-z0-9_.-]{1,256}")
#: Creates waiting for their lane's turn past which the socket is not read (backpressure).
MAX_QUEUED = 64
MAX_QUEUED_BYTES = 32 * 1024 * 1024
#: The conversation bytes the connection-local cache keeps for one response, and in all.
MAX_CACHED_BYTES = 16 * 1024 * 1024
MAX_CACHE_BYTES = 32 * 1024 * 1024
LIFETIME_S = 60 * 60

_REQUEST = msgspec.json.Decoder(ResponseRequest)
SERVER_ERROR = ApiError(500, "The server had an error while processing your request.", type="server_error")


class _Envelope(msgspec.Struct):
    """The WebSocket-only fields of a ``response.create`` that fakeai acts on."""

    generate: bool = True
    context_management: list[dict[str, Any]] | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class Cached(msgspec.Struct):
    id: str
    history: list[Obj]
    size: int


def framer(lane: str | None) -> Callable[[str, bytes], bytes]:
    """An event's text frame: its JSON, with the lane's ``stream_id`` (checked ASCII, no escaping)."""
    if lane is None:
        return lambda kind, payload: payload
    tail = b',"stream_id":"' + lane.encode() + b'"}'
    return lambda kind, payload: payload[:-1] + tail


def _items(value: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": value}] if isinstance(value, str) else value


def _warmup(done: Obj) -> Obj:
    """A ``generate: false`` response: its conversation prepared, nothing written."""
    usage = done["usage"]
    written = {"output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0}}
    return {
        **done,
        "status": "completed",
        "completed_at": int(time.time()),
        "incomplete_details": None,
        "output": [],
        "usage": {**usage, **written, "total_tokens": usage["input_tokens"]},
    }


#: The endpoint a WebSocket create counts under in the metrics: the HTTP create's.
ENDPOINT = "/v1/responses"


class Connection:
    """One socket: its lanes, their queues and tasks, the response cache and the steering."""

    def __init__(self, ctx: ServerContext, ws: WebSocket, over: Overrides | None) -> None:
        self.ctx, self.ws, self.over = ctx, ws, over
        self.key = ws.scope.get(ws_gateway.KEY)
        self.opened = time.monotonic()
        self.send_lock = asyncio.Lock()
        self.slots = asyncio.Semaphore(MAX_ACTIVE)
        self.queues: dict[str | None, deque[bytes]] = {}
        self.tasks: dict[str | None, asyncio.Task[None]] = {}
        self.named: set[str] = set()
        self.queued = self.queued_bytes = 0
        self.room = asyncio.Event()
        self.room.set()
        self.cache: OrderedDict[str | None, Cached] = OrderedDict()
        self.steering = Steering()

    async def run(self) -> None:
        ws = self.ws
        try:
            while True:
                await self.room.wait()
                got = await receive_event(ws)
                if got is None:
                    break
                if isinstance(got, str):
                    await self.error(bad_request(got, code="invalid_json"))
                    continue
                await self.handle(*got)
        except WebSocketDisconnect:
            pass
        finally:
            await self.close()

    async def close(self) -> None:
        """Cancel the lanes and wait for them, then close the socket here (as the Realtime session
        does: granian closes it only if no send holds its transport when the handler returns)."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect):
                await self.ws.close()

    async def send(self, frame: bytes) -> None:
        async with self.send_lock:
            await self.ws.send_text(frame.decode())

    async def error(self, exc: ApiError, lane: str | None = None) -> None:
        """An ``error`` event: the HTTP answer's ``error`` object (OpenAI's words) and status."""
        event: Obj = {"type": "error", "status": exc.status, "error": orjson.loads(exc.body())["error"]}
        if lane is not None:
            event["stream_id"] = lane
        await self.send(orjson.dumps(event))

    async def handle(self, data: bytes, event: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            await self.error(
                bad_request("Each client event must be a JSON object with a 'type'.", param="type")
            )
            return
        kind = event["type"]
        if kind == "response.create":
            await self.create(data, event)
        elif kind == "response.steer":
            try:
                answer = self.steering.submit(data, event)
            except ApiError as exc:
                await self.error(exc)
                return
            await self.send(orjson.dumps(answer))
        else:
            unknown = (
                f"Unknown client event type '{kind[:64]}': expected 'response.create' or 'response.steer'."
            )
            await self.error(ApiError(400, unknown, param="type", code="invalid_event_type"))

    async def create(self, data: bytes, event: dict[str, Any]) -> None:
        """Queue a create on its lane (the lane's task runs it when its turn comes)."""
        lane = event.get("stream_id")
        if lane is not None and not (isinstance(lane, str) and STREAM_ID.fullmatch(lane)):
            why = "'stream_id' must be 1 to 256 ASCII letters, digits, underscores, hyphens or periods."
            await self.error(bad_request(why, param="stream_id", code="invalid_stream_id"))
            return
        if time.monotonic() - self.opened > LIFETIME_S:
            why = (
                f"Responses websocket connection limit reached ({LIFETIME_S // 60} minutes). "
                "Create a new websocket connection to continue."
            )
            await self.error(bad_request(why, code="websocket_connection_limit_reached"), lane)
            return
        if lane is not None and lane not in self.named:
            if len(self.named) >= MAX_LANES:
                why = f"A connection takes at most {MAX_LANES} distinct 'stream_id' values."
                await self.error(bad_request(why, param="stream_id", code="websocket_stream_limit_reached"))
                return
            self.named.add(lane)
        self.queues.setdefault(lane, deque()).append(data)
        self.queued += 1
        self.queued_bytes += len(data)
        if self.queued >= MAX_QUEUED or self.queued_bytes >= MAX_QUEUED_BYTES:
            self.room.clear()
        if lane not in self.tasks:
            self.tasks[lane] = asyncio.create_task(self.drain(lane))

    async def drain(self, lane: str | None) -> None:
        """Run a lane's creates in order, each when a slot of :data:`MAX_ACTIVE` is free."""
        queue = self.queues[lane]
        try:
            while queue:
                data = queue.popleft()
                self.dequeued(data)
                async with self.slots:
                    try:
                        await self.turn(lane, data)
                    except (WebSocketDisconnect, RuntimeError, OSError):
                        return  # the client went away mid-response
                    except Exception:  # a bug: logged, and said as OpenAI says a 500
                        log.exception("unexpected error on the Responses WebSocket")
                        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                            await self.error(SERVER_ERROR, lane)
        finally:
            while queue:  # left unanswered (the client went away): the reader must not wait for them
                self.dequeued(queue.popleft())
            del self.tasks[lane], self.queues[lane]

    def dequeued(self, data: bytes) -> None:
        self.queued -= 1
        self.queued_bytes -= len(data)
        if self.queued < MAX_QUEUED and self.queued_bytes < MAX_QUEUED_BYTES:
            self.room.set()

    async def turn(self, lane: str | None, data: bytes) -> None:
        """One create: checked as ``POST /v1/responses`` checks its body, then answered, then any
        automatic successors of its steering."""
        try:
            req = _REQUEST.decode(data)
            envelope = _ENVELOPE.decode(data)
        except msgspec.DecodeError as exc:
            await self.error(invalid_body(exc), lane)
            return
        if req.background:
            why = "Unsupported parameter: 'background' is not supported in WebSocket mode."
            await self.error(bad_request(why, param="background", code="unsupported_parameter"), lane)
            return
        budget = req.max_output_tokens or DEFAULT_BUDGET
        refused = ws_gateway.admit(self.ctx.gateway, self.key, len(data) // 4 + budget)
        if refused is not None:
            await self.error(ApiError(429, refused[0], type=refused[1], code="rate_limit_exceeded"), lane)
            return
        steerable = req.conversation is None and not envelope.context_management
        steers = self.steering.take(req.previous_response_id, lane)
        generate, explicit = envelope.generate, True
        while True:  # the create, then any successor steering asks for
            # one request of /v1/responses each (no HTTP request carries it to the metrics middleware)
            with self.ctx.metrics.counted(ENDPOINT, req.model) as outcome:
                following = await self.respond(lane, req, generate, steerable, steers, explicit, outcome)
            if following is None:
                return
            (req, steers), generate, explicit = following, True, False

    async def respond(
        self,
        lane: str | None,
        req: ResponseRequest,
        generate: bool,
        steerable: bool,
        steers: list[Steer],
        explicit: bool,
        outcome: Outcome,
    ) -> tuple[ResponseRequest, list[Steer]] | None:
        """Generate, store and play one response (how it ended left in ``outcome``, for the metrics);
        the request and steers of its automatic successor when steering asks for one."""
        start, created = time.monotonic(), time.time()
        if steers:  # the held input first, in submission order
            req = msgspec.structs.replace(
                req, input=[item for s in steers for item in s.items()] + _items(req.input)
            )
        cached = self.cached(req)
        try:
            started, done, context, items, _, outcome.label = await produce(
                self.ctx, req, created, self.over, None if cached is None else cached.history
            )
            if not generate:
                done = _warmup(done)
            if req.store:
                keep(self.ctx.store, records(done, context, items), self.ctx.settings.max_expiring_bytes)
        except ApiError as exc:
            outcome.status, outcome.error = exc.status, error_kind(exc.status, exc.body())
            parent = self.cache.get(lane)
            if parent is not None and parent.id == req.previous_response_id:
                del self.cache[lane]  # a failed continuation on its lane evicts its parent
            exc = _previous_not_found(exc, req.previous_response_id)
            if explicit:
                await self.error(exc, lane)
            why = f"The successor response could not be created: {exc.message}"
            for steer in steers:
                await self.send(
                    orjson.dumps(self.steering.failed(steer, "successor_creation_failed", why, lane))
                )
            return None
        self.steering.committed(steers)
        frame = framer(lane)
        lat = self.ctx.latencies.for_request(self.ctx.resolve_model(req.model)[1].id, self.over)
        ttft, itl = (lat.ttft, lat.itl) if generate else (0.0, 0.0)
        steps, offsets = events(started, done, ttft, itl, frame=frame)
        target = self.steering.begin(done["id"], lane, steerable and generate)
        ticker = self.ctx.ticker
        try:
            for i, step in enumerate(steps):
                await ticker.until(start + offsets[i])
                if target.steers and step.startswith(DELTA):  # a safe boundary: end it here
                    done, tail = cut(started, done, steps, i, frame)
                    if req.store:
                        self.ctx.store.update("response", done)
                    for last in tail:
                        await self.send(last)
                    break
                await self.send(step)
        finally:
            self.steering.end(target, done["status"])
        self.remember(lane, done["id"], context, items + done["output"], cached)
        pending, steers = self.steering.after(target, done)
        for event in pending:
            await self.send(orjson.dumps(event))
        if not steers:
            return None
        return msgspec.structs.replace(
            req, input=[], previous_response_id=done["id"], conversation=None
        ), steers

    def cached(self, req: ResponseRequest) -> Cached | None:
        """The cached conversation ``previous_response_id`` ends, if the connection holds it."""
        wanted = req.previous_response_id
        if wanted is None or req.conversation is not None:  # with both, the create's own 400
            return None
        return next((entry for entry in self.cache.values() if entry.id == wanted), None)

    def remember(
        self, lane: str | None, id: str, context: list[Obj], added: list[Obj], parent: Cached | None
    ) -> None:
        """Cache the conversation response ``id`` ends with as its lane's newest, within the bounds."""
        self.cache.pop(lane, None)
        size = (parent.size if parent is not None else len(orjson.dumps(context))) + len(orjson.dumps(added))
        if size > MAX_CACHED_BYTES:
            return
        while self.cache and sum(entry.size for entry in self.cache.values()) + size > MAX_CACHE_BYTES:
            self.cache.popitem(last=False)
        self.cache[lane] = Cached(id, context + added, size)


def _previous_not_found(exc: ApiError, previous: str | None) -> ApiError:
    """An unknown ``previous_response_id`` in the WebSocket's words (``previous_response_not_found``)."""
    if exc.code != "not_found" or exc.param != "previous_response_id":
        return exc
    return bad_request(
        f"Previous response with id '{previous}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


class ResponsesSocket(Endpoint):
    """The WebSocket upgrade of ``/v1/responses``: a bad ``x-fakeai-*`` header refuses it with its 400."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.sessions = Sessions(ctx.settings.max_realtime_sessions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            over = overrides.from_scope(scope) if self.ctx.settings.request_overrides else None
        except ApiError as exc:
            await ws_gateway.deny(scope, receive, send, exc.status, exc.body())
            return
        ws = WebSocket(scope, receive, send)
        if not self.sessions.acquire():
            message = session_limit_message(self.sessions.limit)
            error = {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": SESSION_LIMIT,
            }
            await refuse_session(ws, {"type": "error", "status": 429, "error": error})
            return
        try:
            await ws.accept()
            await Connection(self.ctx, ws, over).run()
        finally:
            self.sessions.release()


def routes(ctx: ServerContext) -> list[WebSocketRoute]:
    return [WebSocketRoute("/v1/responses", ResponsesSocket(ctx))]
