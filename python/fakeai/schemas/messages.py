"""``POST /v1/messages`` (Anthropic Messages API) request schema, as in Anthropic's API reference.

Content blocks are decoded loosely (``type`` plus the fields fakeai reads); unknown fields are
ignored, as on the OpenAI routes. What Anthropic refuses beyond the types (more than 4 cache
breakpoints, thinking with sampling parameters or a forced tool, a malformed or mislabelled image) is
refused as a request is decoded (:mod:`fakeai.schemas.messages_checks`), so on every path that decodes
one, the Rust hot path included.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas import messages_checks
from fakeai.schemas.common import MAX_STOPS, Count, PositiveInt, StopText


class CacheControl(msgspec.Struct, gc=False):
    """A prompt-caching breakpoint: the prompt up to here is cached for ``ttl`` (default 5 minutes)."""

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class Block(msgspec.Struct, gc=False):
    """Any content block: ``text``, ``image``, ``document``, ``tool_use``, ``tool_result``,
    ``thinking``, ``redacted_thinking`` ... (what counts as input: ``fakeai_core::py::messages_input``)."""

    type: str
    text: str | None = None
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    content: Any = None
    #: ``image`` and ``document`` blocks: ``{"type": "base64" | "url" | "text" | "content" | "file", ...}``.
    source: Any = None
    #: ``document`` blocks.
    title: str | None = None
    context: str | None = None
    #: ``thinking`` blocks sent back: the thinking and its signature.
    thinking: str | None = None
    signature: str | None = None
    #: ``redacted_thinking`` blocks sent back.
    data: str | None = None
    cache_control: CacheControl | None = None


class Message(msgspec.Struct, gc=False):
    role: Literal["user", "assistant"]
    content: str | list[Block]
    #: Not part of Anthropic's API; declared because fakeai's prompt counter reads it.
    name: None = None


class UserLocation(msgspec.Struct, gc=False):
    """A web search tool's ``user_location``: where results should be local to."""

    type: Literal["approximate"]
    city: str | None = None
    region: str | None = None
    country: str | None = None
    timezone: str | None = None


class CitationsConfig(msgspec.Struct, gc=False):
    enabled: bool | None = None


class Tool(msgspec.Struct, gc=False):
    """A custom tool (``type`` absent or ``custom``: ``name`` and ``input_schema`` required), or one
    Anthropic defines (``bash_20250124``, ``web_search_20250305`` ...) with its options; which type
    takes which option, and what each is refused for: :mod:`fakeai.schemas.anthropic_tools`."""

    name: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    description: str | None = None
    cache_control: CacheControl | None = None
    #: Strict tool use: the call's ``input`` validates against ``input_schema``, as every generated
    #: input does (it is made from the schema).
    strict: bool | None = None
    #: Tool search: a deferred tool is left out of the prompt and never called directly.
    defer_loading: bool | None = None
    allowed_callers: list[str] | None = None
    input_examples: list[dict[str, Any]] | None = None
    #: Server tools (``web_search``, ``web_fetch``).
    max_uses: int | None = None
    allowed_domains: list[str] | None = None
    blocked_domains: list[str] | None = None
    user_location: UserLocation | None = None
    citations: CitationsConfig | None = None
    max_content_tokens: int | None = None
    url_sources: dict[str, Any] | None = None
    use_cache: bool | None = None
    response_inclusion: Literal["full", "excluded"] | None = None
    #: The computer tool's display, the text editor's view limit.
    display_width_px: int | None = None
    display_height_px: int | None = None
    display_number: int | None = None
    enable_zoom: bool | None = None
    max_characters: int | None = None
    #: Toolsets' per-member overrides.
    configs: dict[str, Any] | None = None


class Thinking(msgspec.Struct, gc=False):
    """Extended thinking: ``enabled`` with a ``budget_tokens`` (at least 1024, under ``max_tokens``:
    checked by the core, in Anthropic's words), ``adaptive`` (as long as ``output_config.effort``
    has it), or ``disabled``."""

    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: Count | None = None


class OutputFormat(msgspec.Struct, gc=False):
    """Structured outputs: the answer's text is JSON valid against ``schema`` (a JSON Schema object),
    made by the core's schema-driven generator, the one chat's ``response_format`` uses (read and
    checked by ``fakeai_core::py::messages_format``; a schema it cannot honour is a 400 naming it)."""

    type: Literal["json_schema"]
    #: Kept as JSON text: the core parses and checks it (once per distinct schema).
    schema: msgspec.Raw


class OutputConfig(msgspec.Struct, gc=False):
    effort: Literal["low", "medium", "high", "max"] | None = None
    #: Structured outputs (GA): ``{"type": "json_schema", "schema": {...}}``.
    format: OutputFormat | None = None


class ToolChoice(msgspec.Struct, gc=False):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MessagesRequest(msgspec.Struct, gc=False):
    model: Annotated[str, Meta(min_length=1)]
    messages: Annotated[list[Message], Meta(min_length=1)]
    max_tokens: PositiveInt
    system: str | list[Block] | None = None
    stop_sequences: Annotated[list[StopText], Meta(max_length=MAX_STOPS)] | None = None
    stream: bool = False
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Count | None = None
    metadata: dict[str, Any] | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    #: Structured outputs' beta spelling (``anthropic-beta: structured-outputs-2025-11-13``), the same
    #: as ``output_config.format``; sending both is a 400.
    output_format: OutputFormat | None = None
    #: Automatic prompt caching: a breakpoint at the end of the prompt.
    cache_control: CacheControl | None = None

    def __post_init__(self) -> None:
        messages_checks.check(self, self.temperature, self.top_p, self.top_k)


class CountTokensRequest(msgspec.Struct, gc=False):
    """``POST /v1/messages/count_tokens``: what a Messages request counts as input (no ``max_tokens``)."""

    model: Annotated[str, Meta(min_length=1)]
    messages: Annotated[list[Message], Meta(min_length=1)]
    system: str | list[Block] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    output_config: OutputConfig | None = None
    output_format: OutputFormat | None = None
    cache_control: CacheControl | None = None

    def __post_init__(self) -> None:
        messages_checks.check(self)
