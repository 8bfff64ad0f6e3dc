"""Type stubs for ``fakeai._core``, the Rust extension (rust/fakeai_core)."""

from collections.abc import Sequence
from os import PathLike
from typing import Any

VOCAB_SIZE: int
HISTOGRAM_WIDTH: int
HISTOGRAM_BOUNDS: list[float]

class InvalidInput(ValueError):
    """A request value the core cannot use; the caller knows which parameter it came from."""

def count_tokens(text: str) -> int: ...
def chat(
    model: str,
    messages: Sequence[Any],
    *,
    n: int = 1,
    max_tokens: int | None = None,
    min_tokens: int = 0,
    ignore_eos: bool = False,
    stop: str | Sequence[str] | None = None,
    seed: int | None = None,
    top_logprobs: int | None = None,
    stream: bool = False,
    include_usage: bool = False,
    fingerprint: str = "fp_fakeai",
    ttft: float = 0.0,
    itl: float = 0.0,
    jitter: float = 0.0,
    extra_prompt_tokens: int = 0,
    forced_tokens: int | None = None,
    cached_tokens: int = 0,
    echo_mode: bool = False,
    lengths: LengthDistribution | None = None,
) -> tuple[bytes | list[bytes], float | list[float], int, int]:
    """Render a chat completion: ``(body, delay, prompt_tokens, completion_tokens)``, or for a stream
    ``(steps, offsets, prompt_tokens, completion_tokens)``. Messages are objects with ``role``,
    ``content`` (str, None or a list of parts with ``text``) and ``name`` attributes. ``echo_mode``:
    the reply is the last user message's text; ``lengths``: the natural-length distribution."""

def completion(
    model: str,
    prompt: str | Sequence[Any],
    *,
    n: int = 1,
    max_tokens: int | None = None,
    min_tokens: int = 0,
    ignore_eos: bool = False,
    stop: str | Sequence[str] | None = None,
    seed: int | None = None,
    logprobs: int | None = None,
    echo: bool = False,
    stream: bool = False,
    include_usage: bool = False,
    fingerprint: str = "fp_fakeai",
    ttft: float = 0.0,
    itl: float = 0.0,
    jitter: float = 0.0,
    forced_tokens: int | None = None,
    echo_mode: bool = False,
    lengths: LengthDistribution | None = None,
) -> tuple[bytes | list[bytes], float | list[float], int, int]:
    """Render a legacy text completion; same return shape as :func:`chat` (``echo_mode``: each
    prompt's reply is the prompt itself)."""

def embed(model: str, input: str | Sequence[Any], dims: int, base64: bool = False) -> tuple[bytes, int]:
    """Render an embeddings list: ``(body, prompt_tokens)``."""

def cosine(a: str, b: str, dims: int = 256) -> float: ...

class LengthDistribution:
    """A parsed ``--output-length-distribution``: ``uniform:LO:HI``, ``normal:MEAN:STD``, ``fixed:N`` or
    ``histogram:LO-HI=WEIGHT,...``; a bad spec raises :class:`InvalidInput`."""

    def __init__(self, spec: str) -> None: ...
    def sample(self, count: int, seed: int) -> list[int]: ...

class SharedTable:
    """Named atomic counters in a shared-memory file, shared by every worker process."""

    def __init__(self, path: str | PathLike[str], capacity: int, width: int) -> None: ...
    def add(self, key: str, index: int, delta: int) -> int: ...
    def get(self, key: str) -> list[int] | None: ...
    def items(self) -> list[tuple[str, list[int]]]: ...
    def observe(self, key: str, seconds: float) -> None: ...
    def histogram(self, key: str) -> tuple[int, float, list[int]] | None: ...
    def quantile(self, key: str, q: float) -> float: ...
    @property
    def width(self) -> int: ...

def anthropic_message(
    model: str,
    messages: Sequence[Any],
    *,
    max_tokens: int,
    stop_sequences: str | Sequence[str] | None = None,
    stream: bool = False,
    tool: tuple[str, str] | None = None,
    seed: int | None = None,
    extra_input_tokens: int = 0,
    ttft: float = 0.0,
    itl: float = 0.0,
    jitter: float = 0.0,
) -> tuple[bytes | list[bytes], float | list[float], int, int]:
    """Render an Anthropic ``message`` (or its SSE events); ``tool`` is ``(name, input_json)``."""

class RateLimiter:
    """GCRA rate-limit buckets per key in a shared-memory file, shared by every worker process."""

    def __init__(self, path: str | PathLike[str], capacity: int) -> None: ...
    def admit(
        self, key: str, rpm: int, tpm: int, rpd: int, tpd: int, tokens: int
    ) -> tuple[int, float, list[tuple[bytes, bytes]]]:
        """``(refused, retry_after_s, x-ratelimit-* headers)``; refused 0 when allowed, else the limit
        that refused: 1 rpm, 2 tpm, 3 rpd, 4 tpd."""
    def usage(self) -> list[tuple[str, list[int], list[int]]]: ...
