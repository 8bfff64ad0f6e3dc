"""``/v1/responses``: create (plain or streamed as typed events), retrieve, delete, list input items;
and ``POST /v1/responses/input_tokens``, the ``usage.input_tokens`` a create of that body would report.

A stored response (``store``, default true) keeps its conversation, so ``previous_response_id``
continues it from any worker. With ``conversation`` (an id, or ``{"id": ...}``; not beside
``previous_response_id``) the response reads that stored conversation's items before its input, and
its input and output items are appended to it (:mod:`fakeai.api.conversations`), ``store`` or not.
Stored responses expire as OpenAI's do, but by size: past ``--max-expiring-bytes`` (shared with video
jobs and conversations) the oldest are dropped, so a long load test never fills the disk; a dropped
response is a 404 like an unknown id. Generation goes through :mod:`fakeai.engine.responder` (the chat
engine); a stream sends ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added`` ... ``response.output_item.done`` (with ``reasoning_summary_part`` and
``reasoning_summary_text`` events for a reasoning item's summary, ``content_part`` and
``output_text.delta`` events for a message (with their tokens' ``logprobs`` when ``include`` asks),
``function_call_arguments`` events for a call (a delta per token of its arguments, one ITL apart after
the item, as chat streams a tool call, and what follows after them), and those of
:mod:`fakeai.api.response_tool_events` for custom and hosted tool calls), and
``response.completed`` (``response.incomplete`` when ``max_output_tokens`` cut the answer short), each
with a ``sequence_number``, the text deltas paced like chat tokens: after the reasoning tokens' time
(one ITL each, as chat streams them), over which a summary's parts are spread, one delta per part.
The timing is the model's with the request's ``x-fakeai-*`` overrides (:mod:`fakeai.gateway.overrides`),
as chat's; a plain (not streamed) function or custom tool call is sent once its own tokens are
written (:func:`fakeai.engine.responder.respond`), not the text answer it took the place of.

``POST /v1/responses`` is not on the Rust hot path (:mod:`fakeai.api.hot`), by decision: ``store``
defaults to true, as in OpenAI's API, so the common request writes its response and its input items to
the SQLite store, which costs about as much as everything else the request does (benches/http_load.py
``responses`` against ``responses-nostore``); and the response object is built here from a chat
render, by :mod:`fakeai.engine.responder`, for every kind of output (messages, function calls, file
search), so serving even ``store: false`` from Rust would take a Rust renderer of the whole object that
this route uses too. The Rust path's cuts save about 20 us of the Python chain per request (chat's
figures in docs/benchmarks.md), a small share of a Responses request.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import _core
from fakeai.api import response_tool_events as tool_events
from fakeai.api import responses_background as background
from fakeai.api.chat_store import too_large
from fakeai.api.conversations import append
from fakeai.api.resources import fetch, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine import pacing
from fakeai.engine.pacing import Ticker
from fakeai.engine.responder import generate, input_tokens
from fakeai.errors import ApiError, bad_request, not_found
from fakeai.gateway import overrides
from fakeai.gateway.overrides import Overrides
from fakeai.http.asgi import (
    REQUESTED_MODEL,
    SSE_HEADERS,
    Endpoint,
    Receive,
    Scope,
    Send,
    read_body,
    read_json,
    send_bytes,
)
from fakeai.observability.recorder import MODEL_KEY
from fakeai.schemas.common import decimal
from fakeai.schemas.responses import InputTokensRequest, ResponseRequest
from fakeai.store import Obj, StorageFull, Store

_PIECE = re.compile(r"\s*\S+\s*")
#: The most body a stream-again GET may carry (it needs none).
REPLAY_BODY = 64 * 1024
#: How often a background stream looks for its cancel (seconds).
CANCEL_CHECK = 0.1


#: Tools whose work (disk reads and writes) runs in a thread, off the event loop.
OFF_LOOP_TOOLS = ("file_search", "image_generation", "code_interpreter")


def sse(kind: str, payload: bytes) -> bytes:
    """An event's JSON as the SSE event a streamed ``POST /v1/responses`` sends."""
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


def events(
    started: Obj,
    done: Obj,
    ttft: float,
    itl: float,
    queued: bool = False,
    frame: Callable[[str, bytes], bytes] = sse,
) -> tuple[list[bytes], list[float]]:
    """The SSE events of a stream and when each is due (seconds from the request's start). A
    ``queued`` (background) response is created ``queued`` and says ``response.queued``, then
    ``response.in_progress`` once its first token is due, as retrieving it shows. ``frame`` makes
    each event's bytes of its type and JSON (a WebSocket sends the JSON alone,
    :mod:`fakeai.api.responses_socket`)."""
    steps: list[bytes] = []
    offsets: list[float] = []
    at = 0.0

    def emit(kind: str, **fields: Any) -> None:
        payload = orjson.dumps({"type": kind, "sequence_number": len(steps), **fields})
        steps.append(frame(kind, payload))
        offsets.append(at)

    if queued:
        waiting = {**started, "status": "queued"}
        emit("response.created", response=waiting)
        emit("response.queued", response=waiting)
        at = ttft
    else:
        emit("response.created", response=started)
    emit("response.in_progress", response=started)
    think = done["usage"]["output_tokens_details"]["reasoning_tokens"] * itl
    shift = 0.0  # the time hosted tool calls took, before what follows them
    for index, item in enumerate(done["output"]):
        where = {"output_index": index}
        if item["type"] == "reasoning":
            emit("response.output_item.added", item={**item, "summary": []}, **where)
            ids = {"item_id": item["id"], "output_index": index}
            summary = item["summary"]
            for j, part in enumerate(summary):
                at = ttft + think * (j + 1) / len(summary)  # a part once its share is thought
                parts = {"summary_index": j, **ids}
                emit("response.reasoning_summary_part.added", part={**part, "text": ""}, **parts)
                emit("response.reasoning_summary_text.delta", delta=part["text"], **parts)
                emit("response.reasoning_summary_text.done", text=part["text"], **parts)
                emit("response.reasoning_summary_part.done", part=part, **parts)
            at = ttft + think
        elif item["type"] == "message":
            emit("response.output_item.added", item={**item, "status": "in_progress", "content": []}, **where)
            part = item["content"][0]
            ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
            # as OpenAI's: no logprobs yet (the deltas carry them, then the done events all of them)
            added = {**part, "text": "", "annotations": [], "logprobs": []}
            emit("response.content_part.added", part=added, **ids)
            text = part["text"]
            pieces = _PIECE.findall(text) or [text]
            annotated = tool_events.annotation_events(part, pieces, ids)
            logprobs = piece_logprobs(pieces, part.get("logprobs") or [])
            for i, piece in enumerate(pieces):
                at = ttft + think + shift + i * itl
                emit("response.output_text.delta", delta=piece, logprobs=logprobs[i], **ids)
                for kind, fields in annotated.get(i, ()):
                    emit(kind, **fields)
            emit("response.output_text.done", text=text, logprobs=part.get("logprobs") or [], **ids)
            emit("response.content_part.done", part=part, **ids)
        elif item["type"] == "function_call":
            emit(
                "response.output_item.added", item={**item, "status": "in_progress", "arguments": ""}, **where
            )
            # as chat streams a tool call: its header (the name) first, then a token of the
            # arguments per ITL; what follows the call comes after them
            begun = ttft + think + shift
            ids = {"item_id": item["id"], "output_index": index}
            arguments = item["arguments"]
            pieces = _core.chunk_text(arguments, 1, 0) if arguments else [arguments]
            for i, piece in enumerate(pieces):
                at = begun + (i + 1) * itl if arguments else begun
                emit("response.function_call_arguments.delta", delta=piece, **ids)
            emit("response.function_call_arguments.done", arguments=arguments, name=item["name"], **ids)
            shift += at - begun
        elif item["type"] in tool_events.KINDS:
            emit("response.output_item.added", item=tool_events.added(item), **where)
            start = ttft + think + shift
            steps_of, took = tool_events.item_events(item, index, done["tools"], itl, ttft > 0 or itl > 0)
            for offset, kind, fields in steps_of:
                at = start + offset
                emit(kind, **fields)
            shift += took
        else:
            emit("response.output_item.added", item={**item, "status": "in_progress"}, **where)
            ids = {"item_id": item["id"], "output_index": index}
            for phase in ("in_progress", "searching", "completed"):
                emit(f"response.file_search_call.{phase}", **ids)
        emit("response.output_item.done", item=item, **where)
    emit("response.incomplete" if done["status"] == "incomplete" else "response.completed", response=done)
    return steps, offsets


class CreateResponse(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.decoder = msgspec.json.Decoder(ResponseRequest)
        self.limit = ctx.settings.max_body_bytes
        self.budget = ctx.settings.max_expiring_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        created = time.time()
        req = await read_json(receive, self.decoder, self.limit)
        over = overrides.from_scope(scope)  # x-fakeai-* timing, length and mode, as chat's
        store = self.store
        if req.background and not req.store:
            raise bad_request("A background response must be stored: 'store' must be true.", param="store")
        try:
            started, done, context, items, wait, label = await produce(self.ctx, req, created, over)
        except ApiError:
            scope[REQUESTED_MODEL] = req.model  # e.g. context length exceeded: an error of this model
            raise
        if label is not None:  # its inference counted: the request counts under that model too
            scope[MODEL_KEY] = label
        group: list[tuple[str, Obj]] = []
        lat = self.ctx.latencies.for_request(self.ctx.resolve_model(req.model)[1].id, over)
        if req.background:  # answered now, seen through retrieve on the schedule (responses_background)
            started["background"] = done["background"] = True
            rec = background.record(started, created, wait)
            rec["itl"] = lat.itl  # this request's (its overrides'), for streaming it again
            group.append((background.KIND, rec))
        if req.store:
            group += records(done, context, items)
            keep(store, group, self.budget)
        if req.background and not req.stream:
            await send_bytes(send, orjson.dumps({**started, "status": "queued"}))
        elif req.stream:
            if req.background:  # on the record's schedule, and it stops when cancelled
                rec = group[0][1]
                steps, offsets = background_events(started, done, rec, lat.itl)
                await BackgroundStream(store, rec, steps, offsets, start, self.ctx.ticker).send(receive, send)
            else:
                steps, offsets = events(started, done, lat.ttft, lat.itl)
                await pacing.respond(receive, send, steps, offsets, start, self.ctx.ticker)
        else:
            await pacing.respond(receive, send, orjson.dumps(done), wait, start, self.ctx.ticker)


async def produce(
    ctx: ServerContext,
    req: ResponseRequest,
    created: float,
    over: Overrides | None,
    prior: list[Obj] | None = None,
) -> tuple[Obj, Obj, list[Obj], list[Obj], tuple[float, float], str | None]:
    """:func:`~fakeai.engine.responder.generate` (``prior`` as it takes it; a client's request, so its
    inference counts in the metrics under the model label it returns last), off the loop when a tool
    reads index blobs (file search), draws PNGs (image generation) or sets up a container (code
    interpreter: creating, copying files, purging an expired one's); with ``conversation``, the
    input and output items are appended to it: what every create does before it answers."""
    if any(tool.get("type") in OFF_LOOP_TOOLS for tool in req.tools):
        made = await run_in_threadpool(generate, ctx, req, created, over, prior, True)
    else:
        made = generate(ctx, req, created, over, prior, True)
    done, items = made[1], made[3]
    conversation = done.get("conversation")
    if conversation is not None:
        append(
            ctx.store, conversation["id"], items + done["output"], ctx.settings.max_expiring_bytes, "input"
        )
    return made


def records(done: Obj, context: list[Obj], items: list[Obj]) -> list[tuple[str, Obj]]:
    """What a stored response keeps: the response, and its conversation before it and its input items
    (what ``previous_response_id`` continues and ``input_items`` lists)."""
    return [("response", done), ("response.input", {"id": done["id"], "context": context, "items": items})]


def keep(store: Store, group: list[tuple[str, Obj]], budget: int) -> None:
    """Store ``group`` as one expiring group, or the 400 of one larger than the whole budget."""
    try:
        store.insert_expiring(group, budget)
    except StorageFull as exc:
        raise too_large(exc) from None


class CountInputTokens(Endpoint):
    """``POST /v1/responses/input_tokens``: ``{"object": "response.input_tokens", "input_tokens": N}``,
    counted as the response's ``usage.input_tokens`` (nothing generated, stored or metered)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(InputTokensRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        count = input_tokens(self.ctx, req.as_response())
        await send_bytes(send, orjson.dumps({"object": "response.input_tokens", "input_tokens": count}))


class _Token(msgspec.Struct):
    token: str


_TOKENS = msgspec.json.Decoder(list[_Token])
_ENTRIES = msgspec.json.Decoder(list[msgspec.Raw])


def piece_logprobs(pieces: list[str], logprobs: Any) -> list[Any]:
    """The token ``logprobs`` of a text streamed as ``pieces``, per piece: each token's entry goes
    with the piece its last character is in (the tokens' texts make the pieces' text). ``logprobs``
    is the part's (a list, or the core's JSON as an ``orjson.Fragment``); each piece's is the
    entries' JSON spliced as a fragment, so no token's alternatives become Python objects."""
    out: list[Any] = [[] for _ in pieces]
    if not logprobs:
        return out
    body = orjson.dumps(logprobs)
    entries = _ENTRIES.decode(body)
    tokens = _TOKENS.decode(body)
    del body
    ends = []
    at = 0
    for piece in pieces:
        at += len(piece)
        ends.append(at)
    at, j = 0, 0
    first = [len(entries)] * len(pieces)  # each piece's first entry, and its count
    count = [0] * len(pieces)
    for k, entry in enumerate(tokens):
        at += len(entry.token)
        while j < len(ends) - 1 and ends[j] < at:
            j += 1
        if not count[j]:
            first[j] = k
        count[j] += 1
    for j, n in enumerate(count):
        if n:
            out[j] = orjson.Fragment(b"[" + b",".join(entries[first[j] : first[j] + n]) + b"]")
    return out


def background_events(started: Obj, done: Obj, rec: Obj, itl: float) -> tuple[list[bytes], list[float]]:
    """A background response's events on its record's schedule: the first token when ``queued``
    ends, the end event when retrieving it shows it ended."""
    steps, offsets = events(started, done, rec["first_at"] - rec["created"], itl, queued=True)
    offsets[-1] = max(offsets[-1], rec["done_at"] - rec["created"])
    return steps, offsets


class BackgroundStream:
    """A background response's events sent on their schedule (from event ``first``), ended early when
    the response is cancelled: the record is read every :data:`CANCEL_CHECK` seconds meanwhile."""

    def __init__(
        self, store: Store, rec: Obj, steps: list[bytes], offsets: list[float], start: float, ticker: Ticker
    ) -> None:
        self.store, self.id = store, rec["id"]
        self.steps, self.offsets, self.start, self.ticker = steps, offsets, start, ticker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the request's (empty) body first: the next receive is then the client leaving
        await read_body(receive, REPLAY_BODY)
        await self.send(receive, send)

    async def send(self, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        if not self.steps:  # resumed after its last event: nothing is left to send
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        stop = asyncio.get_running_loop().create_future()
        gone = asyncio.ensure_future(receive())
        gone.add_done_callback(lambda _: _end(stop))
        watch = asyncio.ensure_future(self._watch(stop))
        try:
            ended = await self.ticker.play(send, self.steps, self.offsets, self.start, stop)
            left = gone.done()  # the client went away (else the response was cancelled)
        finally:
            watch.cancel()
            gone.cancel()
        if not ended and not left:  # cancelled: the stream ends after the event it was at
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, stop: asyncio.Future[None]) -> None:
        while not stop.done():
            await asyncio.sleep(CANCEL_CHECK)
            rec = self.store.get(background.KIND, self.id)
            if rec is None or rec["status"] == "cancelled":
                _end(stop)
                return


def _end(stop: asyncio.Future[None]) -> None:
    if not stop.done():
        stop.set_result(None)


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store

    async def retrieve(request: Request) -> Response | BackgroundStream:
        response = fetch(store, "response", request.path_params["response_id"], "response")
        if request.query_params.get("stream") not in ("true", "1"):
            return json_response(background.view(store, response))
        return replay(response, request.query_params.get("starting_after"))

    def replay(response: Obj, starting_after: str | None) -> BackgroundStream:
        """A background response's stream again, from after event ``starting_after``, on its schedule."""
        rec = store.get(background.KIND, response["id"]) if response.get("background") else None
        if rec is None:
            raise bad_request("Only background responses can be streamed again.", param="stream")
        if rec["status"] == "cancelled":
            raise bad_request("The response was cancelled.", param="response_id", code="response_cancelled")
        after = -1 if starting_after is None else decimal(starting_after, 1 << 31)
        if after is None:
            raise bad_request("'starting_after' must be an event's sequence number.", param="starting_after")
        itl = rec.get("itl", ctx.latencies.for_model(response["model"]).itl)
        steps, offsets = background_events(background.started_of(response), response, rec, itl)
        start = time.monotonic() - (time.time() - rec["created"])
        return BackgroundStream(store, rec, steps[after + 1 :], offsets[after + 1 :], start, ctx.ticker)

    async def cancel(request: Request) -> Response:
        response = fetch(store, "response", request.path_params["response_id"], "response")
        return json_response(background.cancel(store, response))

    async def delete(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if store.delete("response", response_id) is None:
            raise not_found("response", response_id)
        store.delete("response.input", response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True})

    async def list_input_items(request: Request) -> Response:
        response_id = request.path_params["response_id"]
        stored = fetch(store, "response.input", response_id, "response")
        limit_, order, after = page_params(request)
        items = list(stored["items"]) if order == "asc" else stored["items"][::-1]
        if after is not None:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        return list_response(items[:limit_], len(items) > limit_)

    return [
        Route("/v1/responses", CreateResponse(ctx), methods=["POST"]),
        Route("/v1/responses/input_tokens", CountInputTokens(ctx), methods=["POST"]),
        Route("/v1/responses/{response_id}", retrieve, methods=["GET"]),
        Route("/v1/responses/{response_id}", delete, methods=["DELETE"]),
        Route("/v1/responses/{response_id}/cancel", cancel, methods=["POST"]),
        Route("/v1/responses/{response_id}/input_items", list_input_items, methods=["GET"]),
    ]
