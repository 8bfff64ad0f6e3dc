"""Request fields shared by the APIs, the check of OpenAI's ``metadata`` field, and the nesting limit
every JSON body passes before it is decoded."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from fakeai import _core
from fakeai.errors import PATTERN_WORDS, ApiError, bad_request

#: OpenAI checks integer parameters against int32 (token counts, top_k...) or int64 (seeds) and answers
#: a 400 past them: "integer above maximum value. Expected a value <= 2147483647".
INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: A model id: 1-512 characters, no control characters, no whitespace at either end (an id such as
#: ``"gpt-4o\n"`` would otherwise be registered and listed, but never retrieved by its URL).
MODEL_ID_PATTERN = r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?\Z"
ModelId = Annotated[str, Meta(min_length=1, max_length=512, pattern=MODEL_ID_PATTERN)]
PATTERN_WORDS[MODEL_ID_PATTERN] = "a model id without control characters or spaces at either end"
PositiveInt = Annotated[int, Meta(ge=1, le=INT32_MAX)]
#: A count that may be 0 (``min_tokens``, a legacy completion's ``max_tokens``, ``top_k``).
Count = Annotated[int, Meta(ge=0, le=INT32_MAX)]
Seed = Annotated[int, Meta(ge=INT64_MIN, le=INT64_MAX)]
Temperature = Annotated[float, Meta(ge=0, le=2)]
Probability = Annotated[float, Meta(ge=0, le=1)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
ChoiceCount = Annotated[int, Meta(ge=1, le=128)]
#: vLLM's sampling extensions, which load generators and vLLM clients send (checked as vLLM types
#: them, otherwise ignored): ``top_k`` (-1 or 0 = off), ``min_p``, ``repetition_penalty`` (> 0).
TopK = Annotated[int, Meta(ge=-1, le=INT32_MAX)]
RepetitionPenalty = Annotated[float, Meta(gt=0, le=INT32_MAX)]
#: ``logit_bias``: token ids (as strings) to biases from -100 to 100, as OpenAI checks them; at most
#: 1,024 entries (accepted and otherwise ignored).
LogitBias = Annotated[
    dict[Annotated[str, Meta(pattern=r"^[0-9]{1,10}\Z")], Annotated[float, Meta(ge=-100, le=100)]],
    Meta(max_length=1024),
]
#: ``metadata`` as OpenAI checks it: at most 16 pairs, keys up to 64 characters, values up to 512
#: (checked while decoding, so on the Rust hot path too; :func:`check_metadata` for other sources).
Metadata = Annotated[
    dict[Annotated[str, Meta(max_length=64)], Annotated[str, Meta(max_length=512)]], Meta(max_length=16)
]
#: Stop sequences: OpenAI takes up to 4, vLLM any number; fakeai up to 16 of up to 1,000 characters,
#: so that finding them in every choice's text stays cheap (100,000 of them stalled a worker for 17 s).
MAX_STOPS = 16
StopText = Annotated[str, Meta(max_length=1000)]
Stop = StopText | Annotated[list[StopText], Meta(max_length=MAX_STOPS)] | None


def decimal(raw: str, most: int) -> int | None:
    """The integer from 0 to ``most`` that ``raw`` spells in ASCII digits, or None when it spells none.
    Unicode digits (``"²"`` is ``isdigit()`` but not ``int()``-able) and strings longer than ``most``
    are refused before ``int`` converts, so no text a client sends makes the conversion fail or crawl."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(most)):
        return None
    value = int(raw)
    return value if value <= most else None


class StreamOptions(msgspec.Struct, frozen=True, gc=False):
    include_usage: bool = False
    continuous_usage_stats: bool = False


def check_metadata(metadata: dict[str, str] | None) -> None:
    """OpenAI's metadata rules: at most 16 pairs, keys up to 64 characters, values up to 512."""
    if metadata is None:
        return
    if len(metadata) > 16:
        raise bad_request("'metadata' holds at most 16 key-value pairs.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64 or len(value) > 512:
            raise bad_request(
                "'metadata' keys are at most 64 characters and values at most 512.",
                param=f"metadata.{key[:64]}",
            )


#: The deepest nesting of arrays and objects a JSON body (or a JSON Lines line) may have. Decoders
#: recurse once per level, so a deeper body is a 400 before any decoder sees it.
MAX_JSON_DEPTH = 64
#: The most a JSON body may weigh, counted before it is decoded (one scan in the core,
#: :mod:`fakeai._core` ``json_shape``): an object weighs 8, an array 2, a string and each further
#: element 1, about what they cost decoded. Decoded values cost up to ~50 times their text, so a
#: 32 MiB body of small objects held ~1.5 GB; at this bound a body decodes to at most a few hundred
#: MB. Real requests weigh far less (300,000 token ids, OpenAI's most for one embeddings request,
#: weigh 300,000; a 128-tool list of 200-property schemas about 300,000).
MAX_JSON_WEIGHT = 4 << 20


def nested_too_deep(data: bytes) -> bool:
    """Whether ``data`` (a JSON Lines line, say) nests more than :data:`MAX_JSON_DEPTH` levels."""
    return _core.json_shape(data, MAX_JSON_DEPTH, 2**64 - 1) == "too_deep"


def check_json_shape(body: bytes, param: str | None = None) -> None:
    """A 400 when ``body`` nests more than :data:`MAX_JSON_DEPTH` levels, or a 413 when it weighs
    more than :data:`MAX_JSON_WEIGHT` (one scan in the core that jumps over strings: ~0.1 us for a
    short chat body)."""
    shape = _core.json_shape(body, MAX_JSON_DEPTH, MAX_JSON_WEIGHT)
    if shape == "too_deep":
        raise too_deep(param)
    if shape == "too_heavy":
        raise ApiError(
            413,
            f"The JSON body holds too many values to decode (more than {MAX_JSON_WEIGHT:,}, an object "
            "counting as 8 and an array as 2).",
            param=param,
            code="request_too_large",
        )


def too_deep(param: str | None = None) -> ApiError:
    return bad_request(
        f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.", param=param, code="invalid_json"
    )
