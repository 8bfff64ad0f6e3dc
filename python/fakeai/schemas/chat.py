"""``POST /v1/chat/completions`` request schema, as in OpenAI's API reference.

Unknown top-level fields are accepted and ignored (vLLM-style ``extra_body`` parameters must not
break a request); every declared field is type-checked and range-checked while decoding.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.schemas.common import (
    ChoiceCount,
    Count,
    LogitBias,
    Metadata,
    ModelId,
    Penalty,
    PositiveInt,
    Probability,
    RepetitionPenalty,
    Seed,
    Stop,
    StreamOptions,
    Temperature,
    TopK,
)


class TextPart(msgspec.Struct, tag_field="type", tag="text", gc=False):
    text: str


class ImageUrl(msgspec.Struct, gc=False):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ImagePart(msgspec.Struct, tag_field="type", tag="image_url", gc=False):
    image_url: ImageUrl


class InputAudio(msgspec.Struct, gc=False):
    data: str
    format: str


class AudioPart(msgspec.Struct, tag_field="type", tag="input_audio", gc=False):
    input_audio: InputAudio


class VideoUrl(msgspec.Struct, gc=False):
    url: str


class VideoPart(msgspec.Struct, tag_field="type", tag="video_url", gc=False):
    video_url: VideoUrl


class FilePart(msgspec.Struct, tag_field="type", tag="file", gc=False):
    file: dict[str, Any]


class RefusalPart(msgspec.Struct, tag_field="type", tag="refusal", gc=False):
    refusal: str


ContentPart = TextPart | ImagePart | AudioPart | VideoPart | FilePart | RefusalPart
Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class Message(msgspec.Struct, gc=False):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    function_call: dict[str, Any] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None


class ChatAudio(msgspec.Struct, gc=False):
    voice: str
    format: str


class Prediction(msgspec.Struct, gc=False):
    """Predicted outputs: the text the reply is expected to mostly repeat."""

    content: str | Annotated[list[TextPart], Meta(min_length=1)]
    type: Literal["content"] = "content"


#: A JSON-valued field handed to the Rust core undecoded (an empty ``Raw`` means "absent").
RawJson = msgspec.Raw


class ChatRequest(msgspec.Struct, gc=False):
    model: ModelId
    messages: Annotated[list[Message], Meta(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: ChoiceCount = 1
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    stop: Stop = None
    seed: Seed | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    logit_bias: LogitBias | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    user: str | None = None
    metadata: Metadata | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None
    # Tools, legacy functions and response_format are validated and used by the Rust core.
    tools: RawJson = msgspec.Raw()
    tool_choice: RawJson = msgspec.Raw()
    parallel_tool_calls: bool | None = None
    functions: RawJson = msgspec.Raw()
    function_call: RawJson = msgspec.Raw()
    response_format: RawJson = msgspec.Raw()
    prediction: Prediction | None = None
    modalities: list[str] | None = None
    # vLLM extensions that load-test clients (AIPerf, genai-perf) send.
    min_tokens: Count = 0
    ignore_eos: bool = False
    top_k: TopK | None = None
    min_p: Probability | None = None
    repetition_penalty: RepetitionPenalty | None = None
    best_of: ChoiceCount | None = None
    audio: ChatAudio | None = None


class ChatCompletionUpdate(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``POST /v1/chat/completions/{id}``: a stored completion's ``metadata`` is all that changes
    (``null`` clears it); any other field is a 400, as OpenAI answers."""

    metadata: dict[str, str] | None
