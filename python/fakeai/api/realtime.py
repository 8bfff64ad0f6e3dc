"""``/v1/realtime?model=...``: the Realtime API's WebSocket event protocol, answered by the chat engine.

Both dialects are spoken: the GA protocol (``response.output_text.delta``, ``response.output_audio.delta``,
``conversation.item.added``/``done``, session ``output_modalities``/``audio``), and, when the client
sends ``OpenAI-Beta: realtime=v1``, the beta one (``response.text.delta``, ``response.audio.delta``,
``response.audio_transcript.delta``, ``conversation.item.created``, session ``modalities``).

Client events: ``session.update``, ``input_audio_buffer.append``/``commit``/``clear``,
``conversation.item.create``, ``response.create``, ``response.cancel`` (and beta's
``transcription_session.update``). Turn detection is off in conversation sessions (the client commits
audio and asks for responses), so nothing is answered unasked. Committed audio is transcribed when the
session configures an input transcription, and ``?intent=transcription`` (or a transcription client
secret) opens a transcription session, which only transcribes (server VAD included): see
:mod:`fakeai.api.realtime_transcription`. A response's text comes
from :func:`fakeai.engine.render.chat` over the conversation (committed audio counts as a user turn of
one token per 100 ms of PCM16 at 24 kHz); its deltas are sent at TTFT + i x ITL, audio deltas as
PCM16 silence of 100 ms a piece. Every client mistake is an ``error`` event; the socket stays open.
Each session accepts its own protocol's parameter names (:mod:`fakeai.schemas.realtime`): a GA
session given beta's ``modalities`` answers an ``unknown_parameter`` error, as OpenAI does.

Limits (OpenAI's where it documents them): the API key is checked before the upgrade (see
:mod:`fakeai.gateway.websocket`) and each ``response.create`` counts as one request against the key's
rate limits (a refused one is an ``error`` event with code ``rate_limit_exceeded``); a client event
larger than :data:`MAX_EVENT_BYTES` (15 MiB of text, OpenAI's limit of an append) closes the socket
with 1009, message too big (granian itself drops frames over 16 MiB: the client sees 1006); an append
that would take the audio buffer past :data:`MAX_BUFFER_BYTES` (15 MiB, some 5 minutes of 24 kHz
PCM16) is an ``error`` event (``input_audio_buffer_full``) and leaves the buffer as it was; the
conversation keeps its newest items within 4096 items and 16 MiB
(:mod:`fakeai.api.realtime_conversation`). Parameter values are checked by
:class:`fakeai.schemas.realtime.Names` with the names.

Sessions open at once are capped server-wide by ``--max-realtime-sessions``, together with the
Responses API's WebSocket connections (:mod:`fakeai.runtime.ws_sessions`, which also says how a dead
worker's sessions are freed). OpenAI documents no error for a concurrent-session limit, so a socket
past the cap is refused as it refuses a session it cannot continue: the upgrade is accepted, an
``error`` event is sent (type ``invalid_request_error``, code ``session_limit_reached``, in the
Responses API's form there, with ``status`` 429), and the socket is closed with 1013, *try again
later* (:func:`refuse_session`). The official SDK's iterator yields that event, then raises
``ConnectionClosedError`` (1013); with its reconnection policy on, 1013 is one it retries after a
backoff. Refusing the upgrade with an HTTP status instead would show the SDK user only
``InvalidStatus: HTTP 429``, without the message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
from typing import Any, TypedDict, cast

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from fakeai.api import realtime_secrets, realtime_session, realtime_transcription
from fakeai.api.realtime_conversation import Conversation
from fakeai.api.realtime_session import new_id
from fakeai.context import ServerContext
from fakeai.engine import render
from fakeai.errors import ApiError
from fakeai.gateway import websocket as ws_gateway
from fakeai.gateway.limits import DEFAULT_BUDGET
from fakeai.runtime.ws_sessions import Sessions
from fakeai.schemas.chat import ChatRequest, Message
from fakeai.schemas.common import check_json_shape
from fakeai.schemas.realtime import Names

AUDIO_BYTES_PER_TOKEN = 4800  # 100 ms of 24 kHz mono PCM16
#: Most audio the input buffer holds (some 5 minutes of 24 kHz PCM16).
MAX_BUFFER_BYTES = 15 * 1024 * 1024
#: Largest client event (OpenAI's 15 MiB, applied to the event's text); a larger one closes the
#: connection with 1009. granian drops frames over 16 MiB itself (the client sees 1006).
MAX_EVENT_BYTES = 15 * 1024 * 1024
CLOSE_TOO_BIG = 1009
#: The close code of a session refused at ``--max-realtime-sessions``: try again later.
CLOSE_TRY_AGAIN = 1013
SESSION_LIMIT = "session_limit_reached"


def session_limit_message(limit: int) -> str:
    return (
        f"The server already has its maximum of {limit} concurrent WebSocket sessions open "
        "(--max-realtime-sessions). Close a session, or try again later."
    )


async def refuse_session(ws: WebSocket, event: dict[str, Any], subprotocol: str | None = None) -> None:
    """Accept the upgrade only to send ``event`` (the ``session_limit_reached`` error) and close the
    socket with :data:`CLOSE_TRY_AGAIN`."""
    with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):  # the client left already
        await ws.accept(subprotocol=subprotocol)
        await ws.send_text(orjson.dumps(event).decode())
        await ws.close(CLOSE_TRY_AGAIN, "session limit reached: try again later")


async def receive_event(ws: WebSocket) -> tuple[bytes, Any] | str | None:
    """The next client event of a JSON-event WebSocket (the Realtime API's, the Responses API's):
    ``(its bytes, its JSON)``; the error message of one that is not JSON or nests too deep (the
    socket stays open); None when the client left, or sent more than :data:`MAX_EVENT_BYTES` (the
    socket is closed with :data:`CLOSE_TOO_BIG`)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    raw = message.get("text") or message.get("bytes") or b""
    if len(raw) > MAX_EVENT_BYTES:
        await ws.close(CLOSE_TOO_BIG, f"client event larger than {MAX_EVENT_BYTES} bytes")
        return None
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        check_json_shape(data)
        return data, orjson.loads(data)
    except ApiError as e:  # nested too deep, or too many values
        return e.message.replace("JSON body", "client event")
    except orjson.JSONDecodeError:
        return "The client event is not valid JSON."


SILENCE = base64.b64encode(bytes(AUDIO_BYTES_PER_TOKEN)).decode()
_PIECE = re.compile(r"\s*\S+\s*")

#: A protocol's event names (``item.created``: the events announcing an item, in order) and the
#: content types of an assistant item's text and audio.
Dialect = TypedDict(
    "Dialect",
    {
        "text.delta": str,
        "text.done": str,
        "audio.delta": str,
        "audio.done": str,
        "transcript.delta": str,
        "transcript.done": str,
        "item.created": tuple[str, ...],
        "text.content": str,
        "audio.content": str,
    },
)

GA: Dialect = {
    "text.delta": "response.output_text.delta",
    "text.done": "response.output_text.done",
    "audio.delta": "response.output_audio.delta",
    "audio.done": "response.output_audio.done",
    "transcript.delta": "response.output_audio_transcript.delta",
    "transcript.done": "response.output_audio_transcript.done",
    "item.created": ("conversation.item.added", "conversation.item.done"),
    # An assistant item's content type (the content_part events' ``part`` says text/audio in both).
    "text.content": "output_text",
    "audio.content": "output_audio",
}
BETA: Dialect = {
    "text.delta": "response.text.delta",
    "text.done": "response.text.done",
    "audio.delta": "response.audio.delta",
    "audio.done": "response.audio.done",
    "transcript.delta": "response.audio_transcript.delta",
    "transcript.done": "response.audio_transcript.done",
    "item.created": ("conversation.item.created",),
    "text.content": "text",
    "audio.content": "audio",
}


#: Client events a transcription session refuses: it never answers, and holds only committed audio.
NOT_IN_TRANSCRIPTION = ("response.create", "response.cancel", "conversation.item.create")


class Session:
    """One connection's state: the session settings, the conversation, the audio buffer.

    A transcription session (``transcription``) has its own settings
    (:func:`fakeai.api.realtime_session.transcription_defaults`) and refuses the events that would
    make or need a response (:data:`NOT_IN_TRANSCRIPTION`); see :mod:`fakeai.api.realtime_transcription`.
    """

    def __init__(
        self,
        ctx: ServerContext,
        ws: WebSocket,
        model: str,
        beta: bool,
        config: dict[str, Any] | None = None,
        transcription: bool = False,
    ) -> None:
        self.ctx, self.ws, self.beta = ctx, ws, beta
        self.key = ws.scope.get(ws_gateway.KEY)
        self.names = BETA if beta else GA
        self.models = realtime_transcription.models(ctx.catalog)
        self.params = Names(beta, self.models, realtime_transcription.LANGUAGES)
        self.conversation = Conversation()
        self.transcription = transcription
        #: The input audio buffer, and the transcriptions of what was committed.
        self.input = realtime_transcription.InputAudio(self, transcription)
        self.send_lock = asyncio.Lock()
        self.responding: asyncio.Task[None] | None = None
        #: Set by :meth:`close`: a response cancelled from then on stops without its ``*.done`` events.
        self.closing = False
        if transcription:
            self.session = realtime_session.transcription_defaults(beta)
        else:
            self.session = realtime_session.defaults(model, beta)
        if config:
            realtime_session.apply(self.session, config)

    @property
    def created_event(self) -> str:
        """The event announcing the session (beta's transcription sessions have their own)."""
        return "transcription_session.created" if self.transcription and self.beta else "session.created"

    async def close(self) -> None:
        """End the session: cancel its response and wait for it to end, then close the socket here.

        granian, once the handler returns, closes the connection only if no send holds its transport
        at that instant (it only try-locks it). A response's send still running then (or one just
        cancelled: granian drops it on its own thread, a moment later) left the transport in granian's
        protocol object: no close frame for the client, and once it gave up, a socket in CLOSE-WAIT
        holding a descriptor until a full garbage collection freed that object. granian's explicit
        close waits for the transport instead, and the response, awaited first, sends nothing after.
        """
        self.closing = True
        task, self.responding = self.responding, None
        if task is not None:
            task.cancel()
            await asyncio.wait((task,))
        await self.input.close()
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect):  # the socket failed under the close
                await self.ws.close()

    async def send(self, type: str, **fields: Any) -> None:
        event = {"type": type, "event_id": new_id("event_"), **fields}
        async with self.send_lock:
            await self.ws.send_text(orjson.dumps(event).decode())

    async def error(
        self,
        message: str,
        *,
        code: str | int = "invalid_value",
        param: str | None = None,
        event_id: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        error = {
            "type": type,
            "code": code,
            "message": message,
            "param": param,
            "event_id": event_id,
        }
        await self.send("error", error=error)

    async def item_created(self, item: dict[str, Any], audio_tokens: int = 0) -> None:
        previous = self.conversation.last_id()
        self.conversation.add(item, audio_tokens)
        for name in self.names["item.created"]:
            await self.send(name, previous_item_id=previous, item=item)

    async def handle(self, event: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            await self.error("Each client event must be a JSON object with a 'type'.", param="type")
            return
        kind, event_id = event["type"], event.get("event_id")
        handler = getattr(self, "on_" + kind.replace(".", "_"), None)
        if self.transcription and kind in NOT_IN_TRANSCRIPTION:
            await self.error(
                f"'{kind}' is not supported in a transcription session: it transcribes the committed "
                "audio and never generates responses.",
                param="type",
                event_id=event_id,
            )
            return
        if handler is None or (kind == "transcription_session.update" and not self.beta):
            await self.error(
                f"Unknown client event type '{kind}'.",
                code="invalid_event_type",
                param="type",
                event_id=event_id,
            )
            return
        try:
            await handler(event)
        except ApiError as exc:
            await self.error(
                exc.message, code=exc.code or "invalid_value", param=exc.param, event_id=event_id
            )

    async def on_session_update(self, event: dict[str, Any]) -> None:
        await self.update(event, "session.updated")

    async def on_transcription_session_update(self, event: dict[str, Any]) -> None:
        """Beta's update of a transcription session (GA updates one with ``session.update``)."""
        await self.update(event, "transcription_session.updated")

    async def update(self, event: dict[str, Any], answer: str) -> None:
        changes = event.get("session")
        if not isinstance(changes, dict):
            raise ApiError(400, "'session' must be an object.", param="session")
        realtime_transcription.check_update(self, changes, answer)
        realtime_session.apply(self.session, changes)
        await self.send(answer, session=self.session)

    async def on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise ApiError(400, "'audio' must be base64-encoded PCM16.", param="audio")
        try:
            chunk = base64.b64decode(audio, validate=True)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise ApiError(400, "'audio' must be base64-encoded PCM16.", param="audio") from None
        if self.input.bytes + len(chunk) > MAX_BUFFER_BYTES:
            raise ApiError(
                400,
                f"The input audio buffer is full: it holds at most {MAX_BUFFER_BYTES} bytes; commit or "
                "clear it first.",
                code="input_audio_buffer_full",
                param="audio",
            )
        await self.input.append(chunk)

    async def on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.input.clear()
        await self.send("input_audio_buffer.cleared")

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        await self.commit()

    def new_item_id(self) -> str:
        return new_id("item_")

    async def commit(self, item_id: str | None = None) -> None:
        """Commit the input audio buffer as a user item (``item_id``: the id server VAD announced),
        and transcribe it if the session says how."""
        if self.input.ms(self.input.bytes) < 100:
            if item_id is not None:  # server VAD heard too little: the audio stays in the buffer
                return
            raise ApiError(
                400,
                "Error committing input audio buffer: buffer too small; at least 100ms of audio is needed.",
                code="input_audio_buffer_commit_empty",
            )
        item: dict[str, Any] = {
            "id": item_id or self.new_item_id(),
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        tokens = self.input.ms(self.input.bytes) // 100  # one a 100 ms
        previous = self.conversation.last_id()
        await self.send("input_audio_buffer.committed", previous_item_id=previous, item_id=item["id"])
        await self.item_created(item, tokens)
        self.input.committed(item)  # empties the buffer; the transcription's events follow

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type", "message") not in (
            "message",
            "function_call_output",
        ):
            raise ApiError(400, "'item' must be a message or function_call_output item.", param="item")
        if item.get("type", "message") == "message" and item.get("role") not in (
            "user",
            "assistant",
            "system",
        ):
            raise ApiError(400, "'item.role' must be 'user', 'assistant' or 'system'.", param="item.role")
        _check_content(item)
        await self.item_created(
            {
                "id": item.get("id") or new_id("item_"),
                "object": "realtime.item",
                "type": "message",
                "status": "completed",
                **item,
            }
        )

    async def on_response_create(self, event: dict[str, Any]) -> None:
        if self.responding is not None and not self.responding.done():
            raise ApiError(
                400,
                "Conversation already has an active response.",
                code="conversation_already_has_active_response",
            )
        options = event.get("response")
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise ApiError(400, "'response' must be an object.", param="response")
        self.params.check_response(options)
        refused = ws_gateway.admit(self.ctx.gateway, self.key, self.estimate_tokens(options))
        if refused is not None:
            await self.error(
                refused[0], code="rate_limit_exceeded", type=refused[1], event_id=event.get("event_id")
            )
            return
        self.responding = asyncio.create_task(self.respond_safely(options))

    def estimate_tokens(self, options: dict[str, Any]) -> int:
        """A response's cost for the rate limits, as the HTTP gateway counts a request's: its text / 4
        plus its output budget."""
        limit = options.get("max_output_tokens") or options.get("max_response_output_tokens")
        if type(limit) is not int:
            limit = self.session.get("max_output_tokens") or self.session.get("max_response_output_tokens")
        budget = limit if type(limit) is int else DEFAULT_BUDGET
        conversation = self.conversation
        return conversation.text_chars // 4 + conversation.audio_tokens + budget

    async def respond_safely(self, options: dict[str, Any]) -> None:
        """:meth:`respond`, with a failure answered as an ``error`` event instead of a lost task."""
        try:
            await self.respond(options)
        except ApiError as exc:
            await self.error(exc.message, code=exc.code or "invalid_value", param=exc.param)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client went away mid-response

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        if self.responding is None or self.responding.done():
            raise ApiError(400, "There is no active response to cancel.", code="response_cancel_not_active")
        self.responding.cancel()

    def messages(self, instructions: str) -> tuple[list[Message], int]:
        messages = [Message(role="system", content=instructions)] if instructions else []
        audio_tokens = 0
        for item, audio in self.conversation:
            if item.get("type") == "function_call_output":
                messages.append(Message(role="tool", content=str(item.get("output", ""))))
                continue
            texts = [
                p.get("text") or p.get("transcript") or ""
                for p in item.get("content") or ()
                if isinstance(p, dict)
            ]
            audio_tokens += audio
            messages.append(Message(role=item.get("role", "user"), content=" ".join(t for t in texts if t)))
        return messages or [Message(role="user", content="")], audio_tokens

    async def respond(self, options: dict[str, Any]) -> None:
        start = time.monotonic()
        lat = self.ctx.latencies.for_model(self.session["model"])
        modal_key, max_key = self.params.modalities, self.params.max_tokens
        modalities = options.get(modal_key) or self.session[modal_key]
        audio = "audio" in modalities
        messages, audio_tokens = self.messages(options.get("instructions") or self.session["instructions"])
        limit = options.get(max_key, self.session[max_key])
        req = ChatRequest(
            model=self.session["model"],
            messages=messages,
            max_completion_tokens=limit if isinstance(limit, int) else None,
        )
        answer = render.chat(self.ctx, req)
        prompt, completion = answer.prompt_tokens, answer.completion_tokens
        payload = cast(bytes, answer.payload)  # not a stream: one JSON body
        text = orjson.loads(payload)["choices"][0]["message"]["content"] or ""
        response: dict[str, Any] = {
            "id": new_id("resp_"),
            "object": "realtime.response",
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "usage": None,
            "conversation_id": "conv_default",
            modal_key: modalities,
        }
        item: dict[str, Any] = {
            "id": new_id("item_"),
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        ids = {"response_id": response["id"], "item_id": item["id"], "output_index": 0, "content_index": 0}
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        await self.send("response.created", response=response)
        try:
            await self.send(
                "response.output_item.added", response_id=response["id"], output_index=0, item=item
            )
            await self.item_created(item)
            await self.send("response.content_part.added", part=part, **ids)
            for i, piece in enumerate(_PIECE.findall(text)):
                await self.ctx.ticker.until(start + lat.ttft + i * lat.itl)
                if audio:
                    await self.send(self.names["audio.delta"], delta=SILENCE, **ids)
                    await self.send(self.names["transcript.delta"], delta=piece, **ids)
                else:
                    await self.send(self.names["text.delta"], delta=piece, **ids)
            status = "completed"
        except asyncio.CancelledError:
            if self.closing:
                raise
            status = "cancelled"  # response.cancel: the response ends with its done events
        if audio:
            await self.send(self.names["audio.done"], **ids)
            await self.send(self.names["transcript.done"], transcript=text, **ids)
            done_part = {"type": "audio", "transcript": text}
        else:
            await self.send(self.names["text.done"], text=text, **ids)
            done_part = {"type": "text", "text": text}
        content = {**done_part, "type": self.names["audio.content" if audio else "text.content"]}
        item.update(status="completed" if status == "completed" else "incomplete", content=[content])
        self.conversation.changed(item)
        await self.send("response.content_part.done", part=done_part, **ids)
        await self.send("response.output_item.done", response_id=response["id"], output_index=0, item=item)
        prompt += audio_tokens
        usage = {
            "total_tokens": prompt + completion,
            "input_tokens": prompt,
            "output_tokens": completion,
            "input_token_details": {
                "text_tokens": prompt - audio_tokens,
                "audio_tokens": audio_tokens,
                "cached_tokens": 0,
            },
            "output_token_details": {
                "text_tokens": 0 if audio else completion,
                "audio_tokens": completion if audio else 0,
            },
        }
        response.update(status=status, output=[item], usage=usage)
        await self.send("response.done", response=response)


def _check_content(item: dict[str, Any]) -> None:
    """An item's ``id`` is a string, its ``content`` a list of parts, each an object whose ``text`` and
    ``transcript`` are strings: what the conversation reads of it."""
    if item.get("id") is not None and not isinstance(item["id"], str):
        raise ApiError(400, "'item.id' must be a string.", param="item.id")
    content = item.get("content")
    if content is None:
        return
    if not isinstance(content, list):
        raise ApiError(400, "'item.content' must be an array of content parts.", param="item.content")
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            raise ApiError(400, f"'item.content[{i}]' must be an object.", param=f"item.content[{i}]")
        for key in ("text", "transcript"):
            if part.get(key) is not None and not isinstance(part[key], str):
                param = f"item.content[{i}].{key}"
                raise ApiError(400, f"'{param}' must be a string.", param=param)


def routes(ctx: ServerContext) -> list[WebSocketRoute]:
    sessions = Sessions(ctx.settings.max_realtime_sessions)

    async def realtime(ws: WebSocket) -> None:
        if not sessions.acquire():
            error = {
                "type": "invalid_request_error",
                "code": SESSION_LIMIT,
                "param": None,
                "message": session_limit_message(sessions.limit),
                "event_id": None,
            }
            offered = ws_gateway.subprotocols(ws.scope)
            event = {"type": "error", "event_id": new_id("event_"), "error": error}
            await refuse_session(ws, event, "realtime" if "realtime" in offered else None)
            return
        try:
            await serve(ws)
        finally:
            sessions.release()

    async def serve(ws: WebSocket) -> None:
        model = ws.query_params.get("model")
        beta = "realtime=v1" in ws.headers.get("openai-beta", "")
        # ?intent=transcription (or a transcription secret): a transcription session, which has no model
        transcription = ws.query_params.get("intent") == "transcription"
        presented = ws_gateway.presented_key(ws.scope)
        secret = realtime_secrets.live(ctx.store, presented) if presented else None
        config = None
        if secret is not None:  # a client secret's session (see fakeai.api.realtime_secrets)
            model = model or secret["model"]
            secret_transcription = secret.get("kind") == realtime_secrets.TRANSCRIPTION
            transcription = transcription or secret_transcription
            same = secret["beta"] == beta and secret_transcription == transcription
            config = secret["session"] if same else None
        offered = ws_gateway.subprotocols(ws.scope)
        await ws.accept(subprotocol="realtime" if "realtime" in offered else None)
        if transcription:
            model = model or ""
        elif not model:
            await ws.send_text(
                orjson.dumps(
                    {
                        "type": "error",
                        "event_id": new_id("event_"),
                        "error": {
                            "type": "invalid_request_error",
                            "code": "missing_model",
                            "param": "model",
                            "message": "Missing required parameter: 'model' (as ?model=...).",
                            "event_id": None,
                        },
                    }
                ).decode()
            )
            await ws.close(1008)
            return
        if not transcription:
            ctx.catalog.resolve(model)
        session = Session(ctx, ws, model, beta, config, transcription)
        try:
            await session.send(session.created_event, session=session.session)
            while True:
                got = await receive_event(ws)
                if got is None:
                    break
                if isinstance(got, str):
                    await session.error(got, code="invalid_json")
                    continue
                await session.handle(got[1])
        except WebSocketDisconnect:
            pass
        finally:
            await session.close()

    return [WebSocketRoute("/v1/realtime", realtime)]
