"""Rate limits like OpenAI's: requests and tokens per minute and per day, per API key.

Limits come from a usage tier's preset, overridden by explicit values: a key's own entry in the
scenario file (its ``tier``, then its ``rpm``/``tpm``/``rpd``/``tpd``) wins over the server-wide
``--rate-limit-tier``, ``--rpm``, ``--tpm``, ``--rpd``, ``--tpd``. The buckets live in the Rust core
(:class:`fakeai._core.RateLimiter`, GCRA over shared memory), so every worker process shares them.

A request's token cost is counted before it runs, as OpenAI does: its estimated prompt tokens (the
body's bytes / 4) plus its completion budget (``max_completion_tokens``, ``max_tokens`` or
``max_output_tokens``, times ``n``; 512 when absent, fakeai's longest natural answer; 0 for
embeddings).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import msgspec

from fakeai import _core
from fakeai.gateway.scenario import LIMIT_FIELDS, Scenario
from fakeai.runtime import shared
from fakeai.settings import Settings

#: The published limits of OpenAI's usage tiers for gpt-4o (free: gpt-3.5-turbo's free-tier limits).
TIERS: dict[str, dict[str, int]] = {
    "free": {"rpm": 3, "tpm": 40_000, "rpd": 200, "tpd": 0},
    "tier-1": {"rpm": 500, "tpm": 30_000, "rpd": 0, "tpd": 0},
    "tier-2": {"rpm": 5_000, "tpm": 450_000, "rpd": 0, "tpd": 0},
    "tier-3": {"rpm": 5_000, "tpm": 800_000, "rpd": 0, "tpd": 0},
    "tier-4": {"rpm": 10_000, "tpm": 2_000_000, "rpd": 0, "tpd": 0},
    "tier-5": {"rpm": 10_000, "tpm": 30_000_000, "rpd": 0, "tpd": 0},
}

#: Keys the shared table has room for (configured keys plus keys seen when auth is off).
CAPACITY = 4096
DEFAULT_BUDGET = 512
#: TGI's default ``max_new_tokens``.
TGI_BUDGET = 100


@dataclass(frozen=True, slots=True)
class Limits:
    """Requests and tokens per minute and per day; 0 is no limit."""

    rpm: int = 0
    tpm: int = 0
    rpd: int = 0
    tpd: int = 0
    #: Whether any limit is set / whether a token limit is (so the body must be read), precomputed.
    any: bool = field(init=False, repr=False, compare=False)
    counts_tokens: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "any", bool(self.rpm or self.tpm or self.rpd or self.tpd))
        object.__setattr__(self, "counts_tokens", bool(self.tpm or self.tpd))

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in LIMIT_FIELDS}


def _tier(name: str, scenario: Scenario, where: str) -> dict[str, int]:
    if name not in TIERS:
        raise ValueError(f"{where}: unknown tier '{name}' (expected one of {', '.join(TIERS)})")
    return {**TIERS[name], **scenario.tiers.get(name, {})}


def resolve(settings: Settings, scenario: Scenario, key: str | None = None) -> Limits:
    """The limits of ``key`` (a configured key as written), or the server-wide ones."""
    values = (
        _tier(settings.rate_limit_tier, scenario, "--rate-limit-tier") if settings.rate_limit_tier else {}
    )
    values.update({f: getattr(settings, f) for f in LIMIT_FIELDS if getattr(settings, f)})
    own = scenario.keys.get(key, {}) if key is not None else {}
    if "tier" in own:
        values = _tier(own["tier"], scenario, f"keys.{key}.tier")
    values.update({f: own[f] for f in LIMIT_FIELDS if f in own})
    return Limits(**{f: values.get(f, 0) for f in LIMIT_FIELDS})


class Peek(msgspec.Struct):
    """The few request fields the gateway reads before the endpoint decodes the body (others skipped)."""

    model: Any = None
    max_tokens: Any = None
    max_completion_tokens: Any = None
    max_output_tokens: Any = None
    n: Any = None
    #: TGI's ``{"inputs", "parameters": {"max_new_tokens"}}``
    parameters: Any = None


PEEK = msgspec.json.Decoder(Peek)


def peek(body: bytes) -> Peek:
    """What the gateway needs of a body; a body the endpoint will reject (bad JSON, nested too deep)
    peeks as empty."""
    try:
        return PEEK.decode(body) if body else Peek()
    except (msgspec.DecodeError, RecursionError):
        return Peek()


def estimate_tokens(body: bytes, p: Peek, path: str) -> int:
    budget = p.max_completion_tokens
    if type(budget) is not int:
        budget = p.max_tokens
        if type(budget) is not int:
            budget = p.max_output_tokens
            if type(budget) is not int and type(p.parameters) is dict:
                budget = p.parameters.get("max_new_tokens", TGI_BUDGET)
            if type(budget) is not int:
                budget = 0 if path.endswith("/embeddings") else DEFAULT_BUDGET
    n = p.n if type(p.n) is int and p.n > 0 else 1
    return len(body) // 4 + max(budget, 0) * n


#: The limit that refused a request (``RateLimiter.admit``'s code) and how OpenAI's message names it.
_REFUSED = {
    1: ("rpm", "requests per min (RPM)"),
    2: ("tpm", "tokens per min (TPM)"),
    3: ("rpd", "requests per day (RPD)"),
    4: ("tpd", "tokens per day (TPD)"),
}


def _wait(seconds: float) -> str:
    """A wait as OpenAI's 429 messages write it: ``120ms``, ``1.5s``, ``6m0s``, ``2h5m0s``."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


def refusal(refused: int, retry: float, limits: Limits, tokens: int) -> tuple[str, str]:
    """``(message, error type)`` of a refused request, as OpenAI's 429 words them."""
    field, unit = _REFUSED[refused]
    limit = getattr(limits, field)
    detail = (
        f"Limit {limit}, Requested {tokens}."
        if field[0] == "t"
        else f"Limit {limit}, Used {limit}, Requested 1."
    )
    message = (
        f"Rate limit reached for {unit}: {detail} Please try again in {_wait(retry)}. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    return message, "tokens" if field[0] == "t" else "requests"


class RateLimits:
    """Per-key limits and the shared buckets that enforce them."""

    def __init__(self, settings: Settings, scenario: Scenario) -> None:
        self.default = resolve(settings, scenario)
        self.per_key: dict[str, Limits] = {}
        self.scenario = scenario
        self.settings = settings
        self.buckets = _core.RateLimiter(str(shared.current_dir() / "ratelimits.table"), CAPACITY)

    def add_key(self, label: str, key: str) -> None:
        self.per_key[label] = resolve(self.settings, self.scenario, key)

    @property
    def active(self) -> bool:
        return self.default.any or any(lim.any for lim in self.per_key.values())

    def limits_of(self, label: str) -> Limits:
        return self.per_key.get(label, self.default)

    def admit(self, label: str, limits: Limits, tokens: int) -> tuple[int, float, list[tuple[bytes, bytes]]]:
        """``(refused, retry_after_s, headers)``; refused 0 when allowed, else 1 rpm, 2 tpm, 3 rpd, 4 tpd."""
        return self.buckets.admit(label, limits.rpm, limits.tpm, limits.rpd, limits.tpd, tokens)

    def usage(self) -> list[dict[str, object]]:
        rows = []
        for label, (requests, tokens, by_requests, by_tokens), limits in sorted(self.buckets.usage()):
            rows.append(
                {
                    "key": label,
                    "limits": dict(zip(LIMIT_FIELDS, limits, strict=True)),
                    "requests": requests,
                    "tokens": tokens,
                    "throttled_requests": by_requests,
                    "throttled_tokens": by_tokens,
                }
            )
        return rows
