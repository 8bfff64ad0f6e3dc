"""``POST /v1/messages``: Anthropic's Messages API, rendered by the Rust core in one call.

Answers in Anthropic's shapes: a ``message`` object, or the SSE events ``message_start``,
``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta`` / ``input_json_delta``),
``content_block_stop``, ``message_delta``, ``message_stop``; errors as
``{"type": "error", "error": {"type", "message"}}`` (:func:`fakeai.errors.anthropic_error`: an
overloaded engine is a 529). The ``anthropic-version`` header is required, as Anthropic requires it.
``message_delta.usage`` is cumulative, as Anthropic's: the input split (``input_tokens`` and the cache
reads and writes) besides ``output_tokens``, which clients such as LangChain read usage from.

Tool use: with ``tools`` the answer is a ``tool_use`` block when ``tool_choice`` is ``any`` or
``tool``, or when it is ``auto`` (the default) and the last user turn carries no ``tool_result`` (so
an agent loop gets a call, then a text answer). The tool is the one named in ``tool_choice``, else
the first tool whose name the last user text mentions, else the first tool (toolsets and tools with
``defer_loading`` are not called directly). A custom tool's ``input`` is made from ``input_schema``
by the core's schema-driven generator (the one tool arguments and structured outputs use), the same
for the same request; a schema it cannot satisfy is a 400 naming the tool. Anthropic-defined tools
(``bash_20250124``, ``text_editor_20250728``, ``computer_20250124``, ``memory_20250818``; checked by
:mod:`fakeai.schemas.anthropic_tools`) get an input their client runs; server tools
(``web_search_*``, ``web_fetch_*``, ``code_execution_*``, ``tool_search_tool_*``) answer their
``server_tool_use`` block, its result block and then the text, with ``stop_reason: "end_turn"`` and
``usage.server_tool_use`` (:mod:`fakeai.engine.anthropic_tools`, rendered by the core).

Structured outputs (``output_config: {"format": {"type": "json_schema", "schema": {...}}}``, or the
beta top-level ``output_format`` of ``anthropic-beta: structured-outputs-2025-11-13``; not both) make
the text block JSON valid against the schema, from the same generator chat's ``response_format``
uses (``fakeai_core::py::messages_format``), streamed as ``text_delta``s a token each and cut, with
``stop_reason: "max_tokens"``, where ``max_tokens`` ends. Constraints the SDKs move into a property's
``description`` (``{minimum: 1, maximum: 5}``, what ``messages.parse(output_format=Model)`` sends) are
honoured too, as Claude reads them. A schema the generator refuses is a 400 naming
``output_config.format.schema`` (or ``output_format.schema``). ``strict: true`` on a tool is accepted:
every generated ``input`` validates against its ``input_schema`` anyway.

Extended thinking (``thinking: {"type": "enabled", "budget_tokens": N}``, or ``{"type": "adaptive"}``
with ``output_config.effort``) puts a ``thinking`` block (its text and a ``signature``) before the
answer, streamed as ``thinking_delta``s then a ``signature_delta``. Its length is uniform between a
quarter of the budget and the budget (adaptive: the effort's range, as OpenAI's ``reasoning_effort``),
and comes out of ``max_tokens``: ``usage.output_tokens`` counts it (``output_tokens_details.
thinking_tokens`` too). A budget under 1024 tokens, or not under ``max_tokens``, is a 400 as Anthropic
answers. Echo mode (``--mode echo``, ``x-fakeai-mode: echo``) answers the last user message's text.

Input tokens count every block (text, images and PDFs by Anthropic's rules, documents, tool uses'
inputs, tool results, the current turn's thinking, the tools' definitions): see
``fakeai_core::py::messages_input``. Prompt caching: with ``cache_control`` breakpoints (on tools,
system or message blocks, or the request's own ``cache_control``), the simulated prefix-cache hit up
to the last breakpoint is ``usage.cache_read_input_tokens`` and the rest up to it
``cache_creation_input_tokens`` (by ``ttl`` in ``usage.cache_creation``); ``input_tokens`` is the
rest of the prompt. Without a breakpoint nothing is read or written, as with Anthropic (the prefix
cache still shortens the prefill).

``POST /v1/messages/count_tokens`` answers ``{"input_tokens": N}``: what ``usage.input_tokens`` of the
same Messages request reports without prompt caching, counted by the core without generating, timing
or metering anything. It refuses what ``/v1/messages`` refuses of the fields it shares (the tool
choice, thinking, blocks, structured outputs), in the same words.

What Anthropic refuses beyond the types (more than 4 ``cache_control`` breakpoints; thinking with a
``temperature`` other than 1, a ``top_k``, a ``top_p`` under 0.95 or a forcing ``tool_choice``; an
image whose ``source`` is malformed or whose bytes are not the declared ``media_type``) is refused
as the request is decoded (:mod:`fakeai.schemas.messages_checks`), so the Rust hot path, which
decodes with this route's decoder, hands such a request here for the 400.

The answer is rendered by a :class:`fakeai._core.MessagesCall` holding the model's
:class:`fakeai._core.ChatCall` (:func:`fakeai.engine.render.prepare`): a Messages request is timed by
the simulated engine, routed through the prefix cache, honours the ``x-fakeai-*`` overrides and is
metered (usage as ``completions``, the per-model inference metrics) exactly as a chat completion
is. The call reads the decoded request in Rust and counts its whole prompt as input. A request without ``tools`` is served by the Rust hot path
(:mod:`fakeai.api.hot`) with one call kept per model, when it carries the ``anthropic-version``
header and no override header; anything else comes here.
"""

from __future__ import annotations

from types import EllipsisType

import msgspec
import orjson
from starlette.routing import Route

from fakeai import _core
from fakeai.api.generation import Generation
from fakeai.context import ServerContext
from fakeai.engine import anthropic_tools as engine_tools
from fakeai.engine import render
from fakeai.engine.anthropic_tools import ServerTurn
from fakeai.engine.lora import LoraModule
from fakeai.engine.render import Answer
from fakeai.errors import ApiError, anthropic_response, bad_request, rejected
from fakeai.gateway.overrides import Overrides
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas import anthropic_tools
from fakeai.schemas.messages import Block, CountTokensRequest, MessagesRequest, Tool


def _text_of(content: str | list[Block] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(b.text or "" for b in content)


def _callable(tool: Tool) -> bool:
    """Whether the model may call ``tool`` directly: not deferred (tool search finds those), not a
    toolset."""
    found = anthropic_tools.kind(tool)
    return bool(tool.name) and not tool.defer_loading and (found is None or found.role != "toolset")


def _tool_call(req: MessagesRequest | CountTokensRequest) -> Tool | None:
    if not req.tools:
        return None
    choice = req.tool_choice.type if req.tool_choice else "auto"
    if choice == "none":
        return None
    if choice == "tool":
        name = req.tool_choice.name  # type: ignore[union-attr]
        found = next((t for t in req.tools if t.name is not None and t.name == name), None)
        if found is None:
            raise bad_request(f"tool_choice.name: no tool named {name!r} in tools", param="tool_choice.name")
        return found
    last = req.messages[-1]
    if choice == "auto":
        answered = isinstance(last.content, list) and any(
            b.type.endswith("tool_result") for b in last.content
        )
        if last.role != "user" or answered:
            return None
    said = _text_of(last.content)
    tools = [t for t in req.tools if _callable(t)]
    return next((t for t in tools if t.name and t.name in said), tools[0] if tools else None)


def _tool_use(req: MessagesRequest | CountTokensRequest) -> tuple[str, str] | ServerTurn | None:
    """The tool call the request gets, if any: ``(name, input JSON)`` of a ``tool_use`` block, or a
    server tool's :class:`~fakeai.engine.anthropic_tools.ServerTurn`; a 400 for a ``tool_choice``
    naming no tool or a tool schema nothing satisfies (checked for count_tokens too)."""
    tool = _tool_call(req)
    if tool is None or tool.name is None:
        return None
    said = _text_of(req.messages[-1].content)
    found = anthropic_tools.kind(tool)
    if found is None:
        key = f"{tool.name}|{said}"
        try:
            return tool.name, _core.sample_json(orjson.dumps(tool.input_schema), key)
        except _core.InvalidInput as e:
            raise bad_request(f"tools: input_schema of '{tool.name}': {e}", param="tools") from None
    if found.role == "client":
        return tool.name, engine_tools.client_input(tool, found.family, said)
    return engine_tools.server_turn(tool, found.family, said, req.tools or [])


def messages_call(ctx: ServerContext, model: str) -> _core.MessagesCall:
    """What every live Messages request of ``model`` without overrides is rendered with (the Rust hot
    path keeps one per model)."""
    return _core.MessagesCall(render.chat_call(ctx, model))


def message(
    ctx: ServerContext,
    req: MessagesRequest,
    over: Overrides | None = None,
    start: float | None = None,
    lora: LoraModule | None | EllipsisType = ...,
) -> Answer:
    """The answer to one decoded Messages request (the :class:`Generation` render of this route)."""
    use = _tool_use(req)
    info, shared = render.prepare(ctx, req.model, over, start, lora)
    now = shared.pop("now")
    call = _core.MessagesCall(_core.ChatCall(info, **shared))
    server, tool = (use, None) if isinstance(use, ServerTurn) else (None, use)
    try:
        return call(req, now=now, tool=tool, server=server)
    except _core.InvalidInput as exc:
        raise rejected(exc, param="max_tokens") from None


def _anthropic_version(scope: Scope) -> None:
    if not any(name == b"anthropic-version" for name, _ in scope["headers"]):
        raise bad_request("anthropic-version: header is required")


class CountTokens(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(CountTokensRequest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            _anthropic_version(scope)
            req = await read_json(receive, self.decoder, self.ctx.settings.max_body_bytes)
            self.ctx.resolve_model(req.model)
            _tool_use(req)  # what /v1/messages refuses, counting refuses too
            try:
                count = _core.messages_input_tokens(req)
            except _core.InvalidInput as exc:
                raise rejected(exc, param="messages") from None
            await send_bytes(send, orjson.dumps({"input_tokens": count}))
        except ApiError as e:
            await anthropic_response(e)(scope, receive, send)


class Messages(Generation):
    """Chat's endpoint with Anthropic's rules: the ``anthropic-version`` header is required, and
    errors are Anthropic's envelope."""

    def __init__(self, ctx: ServerContext) -> None:
        super().__init__(ctx, MessagesRequest, message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            _anthropic_version(scope)
            await super().__call__(scope, receive, send)
        except ApiError as e:
            await anthropic_response(e)(scope, receive, send)


def routes(ctx: ServerContext) -> list[Route]:
    return [
        Route("/v1/messages", Messages(ctx), methods=["POST"]),
        Route("/v1/messages/count_tokens", CountTokens(ctx), methods=["POST"]),
    ]
