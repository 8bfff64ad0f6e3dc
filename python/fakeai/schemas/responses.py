"""The ``POST /v1/responses`` request body (fields fakeai acts on; the rest are accepted and echoed),
``POST /v1/responses/input_tokens``'s and ``POST /v1/responses/compact``'s."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import INT32_MAX, Count, ModelId, Seed

Summary = Literal["auto", "concise", "detailed"]


class Reasoning(msgspec.Struct, gc=False):
    """``reasoning``: how long a reasoning model thinks (the ranges of chat's ``reasoning_effort``) and
    whether its reasoning item carries a summary. ``generate_summary`` is the deprecated ``summary``."""

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    summary: Summary | None = None
    generate_summary: Summary | None = None


#: A conversation's id (fakeai's are 53 characters; OpenAI documents no length).
ConversationId = Annotated[str, Meta(min_length=1, max_length=128)]


class ConversationRef(msgspec.Struct, gc=False):
    """``conversation`` as an object: ``{"id": "conv_..."}``."""

    id: ConversationId


class ResponseRequest(msgspec.Struct):
    model: ModelId
    input: str | list[dict[str, Any]] = ""
    instructions: str | None = None
    tools: list[dict[str, Any]] = []
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] = "auto"
    previous_response_id: str | None = None
    conversation: ConversationId | ConversationRef | None = None
    store: bool = True
    stream: bool = False
    #: Answer ``queued`` at once (:mod:`fakeai.api.responses_background`).
    background: bool = False
    max_output_tokens: Annotated[int, Meta(ge=16, le=INT32_MAX)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    #: Alternatives per token in ``output_text.logprobs`` (with ``include``'s
    #: ``message.output_text.logprobs``).
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    #: The most built-in (hosted) tool calls the response makes; echoed back.
    max_tool_calls: Count | None = None
    metadata: dict[str, str] | None = None
    parallel_tool_calls: bool = True
    include: list[str] | None = None
    user: str | None = None
    seed: Seed | None = None
    # ``text.format`` is read by the Rust core as chat's ``response_format`` (see engine/responder.py).
    text: dict[str, Any] | None = None
    reasoning: Reasoning | None = None
    truncation: str | None = None


class InputTokensRequest(msgspec.Struct):
    """``POST /v1/responses/input_tokens``: the fields of a ``POST /v1/responses`` body that make its
    prompt (each may be null, as the SDK's types allow); the rest are accepted and ignored."""

    model: ModelId | None = None
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    previous_response_id: str | None = None
    conversation: ConversationId | ConversationRef | None = None
    text: dict[str, Any] | None = None
    reasoning: Reasoning | None = None
    parallel_tool_calls: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None

    def as_response(self) -> ResponseRequest:
        """The ``POST /v1/responses`` request with this prompt (what the counting reads)."""
        return ResponseRequest(
            model=self.model or "",
            input="" if self.input is None else self.input,
            instructions=self.instructions,
            tools=self.tools or [],
            tool_choice=self.tool_choice or "auto",
            previous_response_id=self.previous_response_id,
            conversation=self.conversation,
            text=self.text,
            reasoning=self.reasoning,
        )


class CompactImage(msgspec.Struct, gc=False):
    """``image``: how images in the context are compressed (fakeai's text has none to compress)."""

    context_compression: Literal["auto", "enabled", "disabled"] = "auto"


class PromptCacheOptions(msgspec.Struct, gc=False):
    """``prompt_cache_options``: checked and accepted (fakeai's prefix cache takes no breakpoints)."""

    mode: Literal["implicit", "explicit"] = "implicit"
    ttl: Literal["30m"] = "30m"


#: ``prompt_cache_key`` and ``safety_identifier``: bounded as a conversation's ``safety_identifier``
#: (OpenAI documents no length).
Identifier = Annotated[str, Meta(max_length=512)]


class CompactRequest(msgspec.Struct, gc=False):
    """``POST /v1/responses/compact`` (:mod:`fakeai.api.responses_compact`): the conversation to compact
    is ``previous_response_id``'s, then ``input``'s items; at least one of them is required."""

    model: ModelId
    input: str | list[dict[str, Any]] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    image: CompactImage | None = None
    prompt_cache_key: Identifier | None = None
    prompt_cache_options: PromptCacheOptions | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    safety_identifier: Identifier | None = None
    service_tier: Literal["auto", "default", "fast", "flex", "priority"] | None = None
