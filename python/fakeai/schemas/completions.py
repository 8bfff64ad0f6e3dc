"""``POST /v1/completions`` (legacy) request schema.

``prompt`` is a string, a list of strings, a list of token ids or a list of lists of token ids; its
element types are checked by the Rust core, which reads it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from fakeai.schemas.common import (
    ChoiceCount,
    Count,
    LogitBias,
    ModelId,
    Penalty,
    Probability,
    RepetitionPenalty,
    Seed,
    Stop,
    StreamOptions,
    Temperature,
    TopK,
)


class CompletionRequest(msgspec.Struct, gc=False):
    model: ModelId
    prompt: str | list[Any]
    max_tokens: Count = 16
    n: ChoiceCount = 1
    best_of: ChoiceCount | None = None
    # vLLM's sampling extensions (see fakeai.schemas.common.TopK)
    top_k: TopK | None = None
    min_p: Probability | None = None
    repetition_penalty: RepetitionPenalty | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: Stop = None
    seed: Seed | None = None
    echo: bool = False
    logprobs: Annotated[int, Meta(ge=0, le=5)] | None = None
    suffix: str | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    logit_bias: LogitBias | None = None
    user: str | None = None
    min_tokens: Count = 0
    ignore_eos: bool = False
