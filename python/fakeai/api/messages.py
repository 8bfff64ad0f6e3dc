"""``POST /v1/messages``: Anthropic's Messages API, rendered by the Rust core in one call.

Answers in Anthropic's shapes: a ``message`` object, or the SSE events ``message_start``,
``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta`` / ``input_json_delta``),
``content_block_stop``, ``message_delta``, ``message_stop``; errors as
``{"type": "error", "error": {"type", "message"}}``. The ``anthropic-version`` header is required, as
Anthropic requires it.

Tool use: with ``tools`` the answer is a ``tool_use`` block when ``tool_choice`` is ``any`` or
``tool``, or when it is ``auto`` (the default) and the last user turn carries no ``tool_result`` (so
an agent loop gets a call, then a text answer). The tool is the one named in ``tool_choice``, else
the first tool whose name the last user text mentions, else the first tool. Its ``input`` is made
from ``input_schema`` by the core's schema-driven generator (the one tool arguments and structured
outputs use), the same for the same request; a schema it cannot satisfy is a 400 naming the tool.

The answer is rendered by a :class:`fakeai._core.MessagesCall` (the model's latency and the length
distribution, :func:`messages_call`), which reads the decoded request in Rust and counts the system
prompt (and the tools' schemas, about four bytes a token) as input. A request without ``tools`` is
served by the Rust hot path (:mod:`fakeai.api.hot`) with the same call kept per model, when it carries
the ``anthropic-version`` header; anything else comes here.
"""

from __future__ import annotations

import time

import msgspec
import orjson
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.engine.pacing import respond
from fakeai.errors import ApiError, bad_request
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.messages import Block, MessagesRequest, Tool


def _text_of(content: str | list[Block] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(b.text or "" for b in content)


def _tool_call(req: MessagesRequest) -> Tool | None:
    if not req.tools:
        return None
    choice = req.tool_choice.type if req.tool_choice else "auto"
    if choice == "none":
        return None
    if choice == "tool":
        name = req.tool_choice.name  # type: ignore[union-attr]
        found = next((t for t in req.tools if t.name == name), None)
        if found is None:
            raise bad_request(f"tool_choice.name: no tool named {name!r} in tools", param="tool_choice.name")
        return found
    last = req.messages[-1]
    if choice == "auto":
        answered = isinstance(last.content, list) and any(b.type == "tool_result" for b in last.content)
        if last.role != "user" or answered:
            return None
    said = _text_of(last.content)
    return next((t for t in req.tools if t.name in said), req.tools[0])


def _anthropic_error(e: ApiError) -> bytes:
    kind = {
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
    }.get(e.status, "invalid_request_error")
    if e.status >= 500:
        kind = "api_error"
    message = f"{e.param}: {e.message}" if e.param and not e.message.startswith(e.param) else e.message
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def messages_call(ctx: ServerContext, model: str) -> _core.MessagesCall:
    """What every Messages request of ``model`` is rendered with (the model registered on first use)."""
    ctx.catalog.resolve(model)
    lat = ctx.latencies.for_model(model)
    return _core.MessagesCall(ttft=lat.ttft, itl=lat.itl, jitter=lat.jitter, lengths=ctx.lengths)


class Messages(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(MessagesRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.handle(scope, receive, send)
        except ApiError as e:
            await send_bytes(send, _anthropic_error(e), e.status)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        if not any(name == b"anthropic-version" for name, _ in scope["headers"]):
            raise bad_request("anthropic-version: header is required")
        req = await read_json(receive, self.decoder, self.limit)
        call = messages_call(self.ctx, req.model)
        tool = _tool_call(req)
        use = None
        if tool is not None:
            key = f"{tool.name}|{_text_of(req.messages[-1].content)}"
            try:
                use = (tool.name, _core.sample_json(orjson.dumps(tool.input_schema), key))
            except _core.InvalidInput as e:
                raise bad_request(f"tools: input_schema of '{tool.name}': {e}", param="tools") from None
        schemas = len(orjson.dumps([t.input_schema for t in req.tools])) // 4 if req.tools else 0
        answer = call(req, tool=use, tools_tokens=schemas)
        await respond(receive, send, answer.payload, answer.schedule, start, self.ctx.ticker)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/messages", Messages(ctx), methods=["POST"])]
