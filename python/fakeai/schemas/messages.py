"""``POST /v1/messages`` (Anthropic Messages API) request schema, as in Anthropic's API reference.

Content blocks are decoded loosely (``type`` plus the fields fakeai reads); unknown fields are
ignored, as on the OpenAI routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import MAX_STOPS, Count, PositiveInt, StopText


class Block(msgspec.Struct, gc=False):
    """Any content block: ``text``, ``image``, ``tool_use``, ``tool_result`` ..."""

    type: str
    text: str | None = None
    name: str | None = None
    input: Any = None
    tool_use_id: str | None = None
    content: Any = None


class Message(msgspec.Struct, gc=False):
    role: Literal["user", "assistant"]
    content: str | list[Block]
    #: Not part of Anthropic's API; declared because fakeai's prompt counter reads it.
    name: None = None


class Tool(msgspec.Struct, gc=False):
    name: Annotated[str, Meta(min_length=1, max_length=128)]
    input_schema: dict[str, Any]
    description: str | None = None


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


class CountTokensRequest(msgspec.Struct, gc=False):
    """``POST /v1/messages/count_tokens``: what a Messages request counts as input (no ``max_tokens``)."""

    model: Annotated[str, Meta(min_length=1)]
    messages: Annotated[list[Message], Meta(min_length=1)]
    system: str | list[Block] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
