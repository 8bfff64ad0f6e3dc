"""Per-request overrides by ``x-fakeai-*`` headers: the one owner of the prefix, the headers and their
parsing.

| header | value | effect |
|---|---|---|
| ``x-fakeai-ttft-ms`` | number >= 0 | time to first token of this request, ms (no prefill term) |
| ``x-fakeai-itl-ms`` | number >= 0 | inter-token latency of this request, ms |
| ``x-fakeai-output-tokens`` | integer >= 1 | generate exactly this many tokens per choice |
| ``x-fakeai-mode`` | ``echo`` or ``random`` | this request's response mode (``--mode``) |
| ``x-fakeai-error`` | status code or name | answer with this injected error (:mod:`fakeai.gateway.faults`) |
| ``x-return-error`` | status code or alias | llm-d's name for ``x-fakeai-error`` |
| ``x-fakeai-fail-attempts`` | integer 0-100 | fail this many attempts of the ``x-request-id`` first |
| ``x-fakeai-disconnect-after`` | integer 0-1e9 | cut the connection after this many chunks |
| ``x-fakeai-stall-ms``, ``-stall-after`` | integers 0-3600000, 0-1e9 | stall this long (after ``--chaos-after`` chunks) |
| ``x-fakeai-malformed-after`` | integer 0-1e9 | send a malformed chunk after this many chunks |
| ``x-fakeai-first-byte-ms`` | integer 0-3600000 | delay the first byte |

Two readers, one table each, one error: the generating endpoints read the timing and content headers
(:func:`from_scope`); the gateway middleware reads the error and chaos headers (:func:`parse`). The
middleware, which scans every request's headers anyway (for the API key), marks the scope (:data:`MARK`)
with whether any ``x-fakeai-`` header is present, so a request without one costs the endpoint a dict
lookup; without the middleware the headers are scanned. A bad value is a 400 naming the header as
``param``; unknown ``x-fakeai-*`` names are ignored, so clients can send headers of newer servers. With
``--no-request-overrides`` every ``x-fakeai-*`` header is removed from the scope before any endpoint
sees it (:func:`strip`).

To add an override: a field on :class:`Overrides` and a row in :data:`HEADERS` or :data:`GATEWAY_HEADERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fakeai.errors import bad_request
from fakeai.gateway import faults
from fakeai.gateway.chaos import Plan
from fakeai.http.asgi import Scope
from fakeai.schemas.common import decimal

PREFIX = b"x-fakeai-"
#: llm-d inference simulator's error header, honoured as ``x-fakeai-error``.
RETURN_ERROR = b"x-return-error"
#: Scope key the gateway middleware sets: whether the request carries any ``x-fakeai-*`` header.
MARK = "fakeai.overrides"


@dataclass(slots=True)
class Overrides:
    # read by the endpoints (timing and content)
    ttft_ms: float | None = None
    itl_ms: float | None = None
    output_tokens: int | None = None
    echo: bool | None = None
    # read by the gateway middleware
    error: faults.Fault | None = None
    fail_attempts: int | None = None
    chaos: Plan | None = None


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


#: Most chunks a chunk-count header names: past any stream's length.
MAX_CHUNKS = 1_000_000_000
#: Most milliseconds a delay header names (as ``x-fakeai-ttft-ms``): an hour.
MAX_DELAY_MS = 3_600_000


def _integer(raw: str, most: int) -> int:
    """An integer from 0 to ``most`` in ASCII digits (checked by length before it is converted)."""
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError("must be a non-negative integer")
    value = decimal(raw, most)
    if value is None:
        raise ValueError(f"must be an integer between 0 and {most}")
    return value


def _count(raw: str) -> int:
    return _integer(raw, MAX_CHUNKS)


def _attempts(raw: str) -> int:
    return _integer(raw, 100)


def _seconds_of_ms(raw: str) -> float:
    return _integer(raw, MAX_DELAY_MS) / 1000.0


def _fault(raw: str) -> faults.Fault:
    try:
        return faults.kind(raw)
    except ValueError as e:
        raise ValueError(f"must be a known error kind: {e}") from None


#: Header name -> (``Overrides`` field, parser raising ``ValueError`` on a bad value): the endpoints'.
HEADERS: dict[bytes, tuple[str, Callable[[str], Any]]] = {
    b"x-fakeai-ttft-ms": ("ttft_ms", _milliseconds),
    b"x-fakeai-itl-ms": ("itl_ms", _milliseconds),
    b"x-fakeai-output-tokens": ("output_tokens", _token_count),
    b"x-fakeai-mode": ("echo", _mode),
}
#: The gateway's: ``error`` is the ``Overrides`` field, the others are fields of the chaos :class:`Plan`.
GATEWAY_HEADERS: dict[bytes, tuple[str, Callable[[str], Any]]] = {
    b"x-fakeai-error": ("error", _fault),
    RETURN_ERROR: ("error", _fault),
    b"x-fakeai-fail-attempts": ("fail_attempts", _attempts),
    b"x-fakeai-disconnect-after": ("disconnect_after", _count),
    b"x-fakeai-stall-ms": ("stall_s", _seconds_of_ms),
    b"x-fakeai-stall-after": ("stall_after", _count),
    b"x-fakeai-malformed-after": ("malformed_after", _count),
    b"x-fakeai-first-byte-ms": ("first_byte_s", _seconds_of_ms),
}


def _read(headers: list[tuple[bytes, bytes]], table: dict[bytes, tuple[str, Callable[[str], Any]]]) -> dict:
    """``{field: value}`` of the headers in ``table``; a bad value is a 400 naming the header."""
    found = {}
    for name, value in headers:
        if name[:9] == PREFIX or name == RETURN_ERROR:
            known = table.get(name)
            if known is None:
                continue
            field, parse = known
            text = value.decode("latin-1").strip()
            try:
                found[field] = parse(text)
            except ValueError as exc:
                reason = str(exc) if str(exc).startswith("must") else "is not a valid value"
                raise bad_request(
                    f"Invalid value for header '{name.decode()}': {text!r} {reason}.",
                    param=name.decode(),
                    code="invalid_header",
                ) from None
    return found


def from_scope(scope: Scope) -> Overrides | None:
    """The timing and content overrides a request asks for, or ``None`` when it sends none."""
    if scope.get(MARK) is False:
        return None
    found = _read(scope["headers"], HEADERS)
    return Overrides(**found) if found else None


def parse(headers: list[tuple[bytes, bytes]], chaos_after: int) -> Overrides:
    """The gateway's overrides among ``headers``: an injected error and a chaos plan.

    ``chaos_after`` is where a stall goes when no ``x-fakeai-stall-after`` header says.
    """
    chaos = _read(headers, GATEWAY_HEADERS)
    error = chaos.pop("error", None)
    fail_attempts = chaos.pop("fail_attempts", None)
    if "stall_s" in chaos:
        chaos.setdefault("stall_after", chaos_after)
    return Overrides(error=error, fail_attempts=fail_attempts, chaos=Plan(**chaos) if chaos else None)


def strip(scope: Scope) -> None:
    """Remove every ``x-fakeai-*`` (and ``x-return-error``) header from ``scope`` (overrides are off)."""
    scope["headers"] = [(k, v) for k, v in scope["headers"] if not k.startswith(PREFIX) and k != RETURN_ERROR]
    scope[MARK] = False
