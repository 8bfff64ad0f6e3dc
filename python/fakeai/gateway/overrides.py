"""Per-request overrides by ``x-fakeai-*`` headers, read from the ASGI scope.

The gateway middleware looks for the ``x-fakeai-`` prefix while it scans the headers for the API
key; only a request carrying such a header pays for :func:`parse`. With ``--no-request-overrides``
every ``x-fakeai-*`` header is removed from the scope before any endpoint sees it (:func:`strip`), so
the headers of other modules (``x-fakeai-ttft-ms`` ...) are ignored too.
"""

from __future__ import annotations

from dataclasses import dataclass

from fakeai.engine.overrides import MARK
from fakeai.errors import ApiError
from fakeai.gateway import faults
from fakeai.gateway.chaos import Plan

PREFIX = b"x-fakeai-"


@dataclass(frozen=True, slots=True)
class Overrides:
    error: faults.Fault | None = None
    chaos: Plan | None = None


def _int(name: str, value: bytes) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        shown = value.decode(errors="replace")
        raise ApiError(
            400,
            f"Invalid header '{name}': expected a non-negative integer, got {shown!r}.",
            param=name,
            code="invalid_header",
        )
    return n


def parse(headers: list[tuple[bytes, bytes]], chaos_after: int) -> Overrides:
    """The gateway's overrides among ``headers`` (other ``x-fakeai-*`` headers are left to their modules).

    ``chaos_after`` is where a stall or malformed chunk goes when no ``-after`` header says.
    """
    error = None
    chaos: dict[str, float | int | None] = {}
    for raw, value in headers:
        if not raw.startswith(PREFIX):
            continue
        name = raw.decode()
        if raw == b"x-fakeai-error":
            try:
                error = faults.kind(value.decode())
            except ValueError as e:
                raise ApiError(
                    400, f"Invalid header '{name}': {e}.", param=name, code="invalid_header"
                ) from None
        elif raw == b"x-fakeai-disconnect-after":
            chaos["disconnect_after"] = _int(name, value)
        elif raw == b"x-fakeai-stall-ms":
            chaos["stall_s"] = _int(name, value) / 1000.0
            chaos.setdefault("stall_after", chaos_after)
        elif raw == b"x-fakeai-stall-after":
            chaos["stall_after"] = _int(name, value)
        elif raw == b"x-fakeai-malformed-after":
            chaos["malformed_after"] = _int(name, value)
        elif raw == b"x-fakeai-first-byte-ms":
            chaos["first_byte_s"] = _int(name, value) / 1000.0
    return Overrides(error, Plan(**chaos) if chaos else None)  # type: ignore[arg-type]


def strip(scope: dict) -> None:
    """Remove every ``x-fakeai-*`` header from ``scope`` (overrides are off)."""
    scope["headers"] = [(k, v) for k, v in scope["headers"] if not k.startswith(PREFIX)]
    scope[MARK] = False
