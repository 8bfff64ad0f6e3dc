"""Request fields shared by the completion APIs."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

ModelId = Annotated[str, Meta(min_length=1, max_length=512)]
PositiveInt = Annotated[int, Meta(ge=1)]
Temperature = Annotated[float, Meta(ge=0, le=2)]
Probability = Annotated[float, Meta(ge=0, le=1)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
ChoiceCount = Annotated[int, Meta(ge=1, le=128)]
Stop = str | list[str] | None


class StreamOptions(msgspec.Struct, frozen=True, gc=False):
    include_usage: bool = False
    continuous_usage_stats: bool = False
