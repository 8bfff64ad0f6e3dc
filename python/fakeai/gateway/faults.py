"""Error injection: a rate and a weighted mix of the errors real providers return, per route or model.

Kinds (by status code or name)::

    500 server_error              502 bad_gateway           503 overloaded
    504 timeout                   429 insufficient_quota    400 context_length_exceeded
    401 invalid_api_key           rate_limit_exceeded (429, retryable)

Each kind is answered in the words of the API asked: OpenAI's envelope, or on Anthropic's API (a
``/v1/messages`` path or an ``anthropic-version`` header) Anthropic's, with Anthropic's status, type
and message (``overloaded`` is a 529 ``overloaded_error``, ``context_length_exceeded`` says ``prompt
is too long: ...``, both 429s are ``rate_limit_error``). A 429 that clients should retry carries
``retry-after``: ``rate_limit_exceeded`` (OpenAI's ``type: requests``), and every 429 on Anthropic's
API; ``insufficient_quota``, a billing error OpenAI sends without one, does not.

Draws are deterministic: the n-th request the server handles (counted across worker processes in
shared memory) draws from a hash of ``--fault-seed`` and n, so one seed replays one sequence of faults.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import orjson

from fakeai import _core

_MASK = (1 << 64) - 1

#: Anthropic's answer to a request over its rate limit.
ANTHROPIC_RATE_LIMITED = (
    "This request would exceed your organization's rate limit of 50 requests per minute. For details, "
    "refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current "
    "usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may "
    "also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate "
    "limit increase."
)
#: Seconds a retryable injected 429 asks the client to wait (``retry-after``).
RETRY_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    type: str
    code: str | None
    message: str
    #: Anthropic's error type for the same failure (Anthropic's API answers in Anthropic's envelope).
    anthropic_type: str
    #: Anthropic's message for it (None: the same as OpenAI's, which names no provider).
    anthropic_message: str | None = None
    #: Anthropic's status for it (None: ``status``).
    anthropic_status: int | None = None
    #: Whether OpenAI's answer carries ``retry-after`` (Anthropic's does for every 429).
    retry_after: bool = False

    def openai_body(self, message: str | None = None) -> bytes:
        error = {"message": message or self.message, "type": self.type, "param": None, "code": self.code}
        if self.code == "context_length_exceeded":
            error["param"] = "messages"
        return orjson.dumps({"error": error})

    def anthropic_body(self, message: str | None = None) -> bytes:
        text = message or self.anthropic_message or self.message
        return orjson.dumps({"type": "error", "error": {"type": self.anthropic_type, "message": text}})

    def status_for(self, anthropic: bool) -> int:
        """The HTTP status answered on OpenAI's API, or Anthropic's (``anthropic``)."""
        return (self.anthropic_status or self.status) if anthropic else self.status

    def retries_after(self, anthropic: bool) -> bool:
        """Whether the answer carries ``retry-after``: OpenAI's when :attr:`retry_after`, Anthropic's
        on every 429 (its rate limit errors always do)."""
        return self.status == 429 if anthropic else self.retry_after


KINDS: dict[str, Fault] = {
    "500": Fault(
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
        "api_error",
        "Internal server error",
    ),
    "502": Fault(502, "server_error", "bad_gateway", "Bad gateway.", "api_error"),
    "503": Fault(
        503,
        "server_error",
        "overloaded",
        "The engine is currently overloaded, please try again later.",
        "overloaded_error",
        "Overloaded",
        anthropic_status=529,
    ),
    "504": Fault(504, "server_error", "timeout", "Gateway timeout: the request took too long.", "api_error"),
    "429": Fault(
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "rate_limit_error",
        ANTHROPIC_RATE_LIMITED,
    ),
    "rate_limit_exceeded": Fault(
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM): Limit 60, Used 60, Requested 1. Please try "
        "again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.",
        "rate_limit_error",
        ANTHROPIC_RATE_LIMITED,
        retry_after=True,
    ),
    "400": Fault(
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your messages resulted in "
        "131072 tokens. Please reduce the length of the messages.",
        "invalid_request_error",
        "prompt is too long: 131072 tokens > 128000 maximum",
    ),
    "401": Fault(
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-fake****. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "authentication_error",
        "invalid x-api-key",
    ),
}
ALIASES = {
    "server_error": "500",
    "bad_gateway": "502",
    "overloaded": "503",
    "timeout": "504",
    "insufficient_quota": "429",
    "rate_limit": "rate_limit_exceeded",
    "context_length_exceeded": "400",
    "invalid_api_key": "401",
}


def kind(name: str) -> Fault:
    """The fault named ``name`` (a status code or an alias); ValueError when unknown."""
    name = name.strip().lower()
    fault = KINDS.get(ALIASES.get(name, name))
    if fault is None:
        raise ValueError(f"unknown error kind {name!r} (expected one of {', '.join([*KINDS, *ALIASES])})")
    return fault


class Mix:
    """A weighted choice, from ``'500=2,503,429'`` (weight 1 when omitted)."""

    def __init__(self, spec: str, lookup, where: str) -> None:
        self.items: list[object] = []
        self.cumulative: list[float] = []
        total = 0.0
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, weight = part.partition("=")
            try:
                item, w = lookup(name), float(weight) if weight else 1.0
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            if w <= 0:
                raise ValueError(f"{where}: weight of {name!r} must be > 0")
            total += w
            self.items.append(item)
            self.cumulative.append(total)
        if not self.items:
            raise ValueError(f"{where}: names no kind")

    def pick(self, u: float) -> object:
        """The item at ``u`` in [0, 1)."""
        return self.items[
            min(bisect.bisect_right(self.cumulative, u * self.cumulative[-1]), len(self.items) - 1)
        ]


def unit(seed: int, n: int, stream: int) -> float:
    """A deterministic uniform number in [0, 1) for draw ``n`` of ``stream`` (splitmix64)."""
    z = (seed * 0x9E3779B97F4A7C15 + n * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((z ^ (z >> 31)) >> 11) / float(1 << 53)


@dataclass(frozen=True, slots=True)
class Rule:
    rate: float
    mix: Mix
    route: str = ""
    model: str = ""
    #: The API key (as presented) the rule is for; empty: any.
    key: str = ""
    #: Fail the first ``first`` attempts of each request id, then let it pass (``rate`` is unused).
    first: int = 0

    def matches(self, path: str, model: object, key: str | None) -> bool:
        return (
            path.startswith(self.route)
            and (not self.model or self.model == model)
            and (not self.key or self.key == key)
        )


class Injector:
    """Decides, per request, whether an injected fault answers it. Rules from the scenario file come
    first (the first matching one decides); the server-wide ``--error-rate`` applies otherwise. A rule
    with ``first`` counts the attempts of each request id (:mod:`fakeai.gateway.retries`); a request
    without an id passes such a rule by."""

    def __init__(self, rules: list[Rule], seed: int, counter: _core.SharedTable, attempts=None) -> None:
        self.rules = rules
        self.seed = seed
        self.needs_model = any(r.model for r in rules)
        self.counts_attempts = any(r.first for r in rules)
        self.counter = counter
        self.attempts = attempts

    def pick(
        self, path: str, model: object, key: str | None = None, request_id: str | None = None
    ) -> Fault | None:
        for i, rule in enumerate(self.rules):
            if not rule.matches(path, model, key):
                continue
            if rule.first:
                if request_id is None or self.attempts is None:
                    continue
                n = self.attempts.next(request_id)
                return rule.mix.pick(unit(self.seed, n, 2)) if n <= rule.first else None  # type: ignore[return-value]
            if rule.rate <= 0:
                return None
            n = self.counter.add(f"errors|{i}", 0, 1)
            if unit(self.seed, n, 1) < rule.rate:
                return rule.mix.pick(unit(self.seed, n, 2))  # type: ignore[return-value]
            return None
        return None
