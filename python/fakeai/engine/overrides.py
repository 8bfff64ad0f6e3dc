"""Per-request simulation overrides, read from ``x-fakeai-*`` request headers.

| header | value | effect |
|---|---|---|
| ``x-fakeai-ttft-ms`` | number >= 0 | time to first token of this request, ms (no prefill term) |
| ``x-fakeai-itl-ms`` | number >= 0 | inter-token latency of this request, ms |
| ``x-fakeai-output-tokens`` | integer >= 1 | generate exactly this many tokens per choice |
| ``x-fakeai-mode`` | ``echo`` or ``random`` | this request's response mode (``--mode``) |

Headers are read straight from the ASGI scope. The gateway middleware, which scans every request's
headers anyway, marks the scope (:data:`MARK`) with whether any ``x-fakeai-`` header is present, so a
request without one costs a dict lookup here; without the middleware the headers are scanned. A bad
value is a 400 naming the header as ``param``. Other ``x-fakeai-*`` names are ignored here (the
gateway reads its own: errors and chaos), so clients can send headers of newer servers.

To add an override: a field on :class:`Overrides` and a row in :data:`HEADERS` (name -> field, parser).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakeai.errors import bad_request

PREFIX = b"x-fakeai-"
#: Scope key the gateway middleware sets: whether the request carries any ``x-fakeai-*`` header.
MARK = "fakeai.overrides"


@dataclass(slots=True)
class Overrides:
    ttft_ms: float | None = None
    itl_ms: float | None = None
    output_tokens: int | None = None
    echo: bool | None = None


def _milliseconds(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 3_600_000:  # also rejects nan
        raise ValueError("must be a number of milliseconds between 0 and 3600000")
    return value


def _mode(raw: str) -> bool:
    value = {"echo": True, "random": False}.get(raw.lower())
    if value is None:
        raise ValueError("must be 'echo' or 'random'")
    return value


def _token_count(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 1_000_000:
        raise ValueError("must be an integer between 1 and 1000000")
    return value


#: Header name -> (``Overrides`` field, parser raising ``ValueError`` on a bad value).
HEADERS: dict[bytes, tuple[str, Callable[[str], Any]]] = {
    b"x-fakeai-ttft-ms": ("ttft_ms", _milliseconds),
    b"x-fakeai-itl-ms": ("itl_ms", _milliseconds),
    b"x-fakeai-output-tokens": ("output_tokens", _token_count),
    b"x-fakeai-mode": ("echo", _mode),
}


def from_scope(scope: dict[str, Any]) -> Overrides | None:
    """The overrides a request asks for, or ``None`` when it sends no ``x-fakeai-*`` header."""
    if scope.get(MARK) is False:
        return None
    found = None
    for name, value in scope["headers"]:
        if name[:9] == PREFIX:
            known = HEADERS.get(name)
            if known is None:
                continue
            field, parse = known
            text = value.decode("latin-1").strip()
            try:
                parsed = parse(text)
            except ValueError as exc:
                reason = str(exc) if str(exc).startswith("must") else "is not a valid value"
                raise bad_request(
                    f"Invalid value for header '{name.decode()}': {text!r} {reason}.",
                    param=name.decode(),
                    code="invalid_header",
                ) from None
            if found is None:
                found = Overrides()
            setattr(found, field, parsed)
    return found
