"""Hugging Face Text Generation Inference's request schema (``POST /generate``, ``/generate_stream``
and ``/``) and its validation rules, as TGI's router states them.

Types are TGI's (``max_new_tokens``, ``top_n_tokens`` and ``truncate`` unsigned, ``seed`` a u64,
``top_k`` an i32): a value of the wrong type is refused while decoding. The ranges TGI checks after
decoding are :func:`check`'s, with TGI's messages (``Input validation error: `top_p` must be > 0.0
and < 1.0``). Every parameter may also be ``null`` (its default), and unknown fields are ignored, as
TGI's serde structs ignore them. ``ignore_eos`` and ``min_tokens`` are fakeai extras (vLLM's names),
so a load test can ask for exact lengths as it does on the OpenAI routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from fakeai.errors import ApiError

U32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]
I32 = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
#: msgspec bounds integers within int64 only: :func:`check` refuses a seed past u64.
U64 = Annotated[int, Meta(ge=0)]
U64_MAX = 2**64 - 1

#: TGI's defaults: ``max_new_tokens`` when absent (``null`` asks for no cap), and its router's
#: ``--max-best-of``, ``--max-stop-sequences`` and ``--max-top-n-tokens``.
DEFAULT_MAX_NEW_TOKENS = 100
MAX_BEST_OF = 2
MAX_STOP_SEQUENCES = 4
MAX_TOP_N_TOKENS = 5


class Grammar(msgspec.Struct, gc=False):
    """A grammar the output follows: a JSON schema (``json``, alias ``json_object``) or a ``regex``."""

    type: Literal["json", "json_object", "regex"]
    value: dict[str, Any] | str


class GenerateParameters(msgspec.Struct, gc=False):
    best_of: U32 | None = None
    temperature: float | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    top_k: I32 | None = None
    top_p: float | None = None
    typical_p: float | None = None
    do_sample: bool | None = None
    #: Absent: :data:`DEFAULT_MAX_NEW_TOKENS`; ``null``: no cap (until the end of sequence).
    max_new_tokens: U32 | None | UnsetType = UNSET
    return_full_text: bool | None = None
    stop: list[str] | None = None
    truncate: U32 | None = None
    watermark: bool | None = None
    details: bool | None = None
    decoder_input_details: bool | None = None
    seed: U64 | None = None
    top_n_tokens: U32 | None = None
    grammar: Grammar | None = None
    adapter_id: str | None = None
    ignore_eos: bool | None = None
    min_tokens: U32 | None = None

    def sampling(self) -> bool:
        """Whether tokens are sampled (TGI's rule), rather than chosen greedily."""
        return bool(self.do_sample) or any(
            p is not None for p in (self.temperature, self.top_k, self.top_p, self.typical_p)
        )


#: What a request without ``parameters`` gets: TGI's ``default_parameters()``, which samples.
SAMPLED = GenerateParameters(do_sample=True)


class GenerateRequest(msgspec.Struct, gc=False):
    inputs: str
    parameters: GenerateParameters | None = None


class CompatGenerateRequest(GenerateRequest, gc=False):
    """The compat route ``/``'s request: ``stream`` picks a stream or one body."""

    stream: bool | None = None


def invalid(message: str) -> ApiError:
    """TGI's 422 for a request its validation refuses."""
    return ApiError(422, f"Input validation error: {message}", code="validation")


def check(req: GenerateRequest, p: GenerateParameters, stream: bool) -> None:
    """TGI's checks of a decoded request (``p`` its parameters), in TGI's order; the context-window
    check is the core's, when it renders."""
    if p.seed is not None and p.seed > U64_MAX:
        message = "Failed to deserialize the JSON body into the target type: parameters.seed: expected u64"
        raise ApiError(422, message, code="validation")
    best_of = 1 if p.best_of is None else p.best_of
    if best_of > 1 and not p.sampling():
        raise invalid("you must use sampling when `best_of` is > 1")
    if p.temperature is not None and p.temperature <= 0:
        raise invalid("`temperature` must be strictly positive")
    if p.repetition_penalty is not None and p.repetition_penalty <= 0:
        raise invalid("`repetition_penalty` must be strictly positive")
    if p.frequency_penalty is not None and not -2 <= p.frequency_penalty <= 2:
        raise invalid("`frequency_penalty` must be >= -2.0 and <= 2.0")
    if p.top_p is not None and not 0 < p.top_p < 1:
        raise invalid("`top_p` must be > 0.0 and < 1.0")
    if p.typical_p is not None and not 0 < p.typical_p < 1:
        raise invalid("`typical_p` must be > 0.0 and < 1.0")
    if p.top_k is not None and p.top_k <= 0:
        raise invalid("`top_k` must be strictly positive")
    if p.max_new_tokens == 0:
        raise invalid("`max_new_tokens` must be strictly positive")
    if p.stop is not None and len(p.stop) > MAX_STOP_SEQUENCES:
        raise invalid(f"`stop` supports up to {MAX_STOP_SEQUENCES} stop sequences. Given: {len(p.stop)}")
    if best_of > 1 and p.seed is not None:
        raise invalid("`seed` must not be set when `best_of` > 1")
    if p.top_n_tokens is not None and p.top_n_tokens > MAX_TOP_N_TOKENS:
        raise invalid(f"`top_n_tokens` must be >= 0 and <= {MAX_TOP_N_TOKENS}. Given: {p.top_n_tokens}")
    if not req.inputs:
        raise invalid("`inputs` cannot be empty")
    if not 0 < best_of <= MAX_BEST_OF:
        raise invalid(f"`best_of` must be > 0 and <= {MAX_BEST_OF}. Given: {best_of}")
    if stream and best_of != 1:
        raise invalid("`best_of` != 1 is not supported when streaming tokens")
    if stream and p.decoder_input_details:
        raise invalid("`decoder_input_details` == true is not supported when streaming tokens")
