"""Byte ranges of a body held whole (RFC 9110 section 14): what a browser's ``<video>`` asks for to seek.

One range (``bytes=FIRST-LAST``, ``bytes=FIRST-`` or ``bytes=-SUFFIX``) is a 206 with ``Content-Range``;
a range that starts past the end is a 416 with the error envelope and ``Content-Range: bytes */LENGTH``.
Anything else (several ranges, another unit, bad syntax) is ignored, as the RFC allows, and the whole
body is a 200. Every answer says ``Accept-Ranges: bytes``.
"""

from __future__ import annotations

from starlette.responses import Response

from fakeai.errors import ApiError
from fakeai.schemas.common import decimal

#: The longest ``Range`` header read; a longer one is ignored.
MAX_HEADER_CHARS = 64
#: The largest byte offset read from it.
MAX_OFFSET = 10**18


def parse(header: str | None, length: int) -> tuple[int, int] | None:
    """``(first, last)`` (inclusive) of a single satisfiable range, None to send the whole body; a 416
    when the range starts at or past ``length``."""
    if header is None or len(header) > MAX_HEADER_CHARS:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first, last = decimal(first_text, MAX_OFFSET), decimal(last_text, MAX_OFFSET)
    if not dash or (first is None and first_text) or (last is None and last_text):
        return None
    if first is None:  # bytes=-SUFFIX: the last SUFFIX bytes
        if not last:
            return None
        return max(0, length - last), length - 1
    if last is not None and last < first:
        return None
    last = length - 1 if last is None else min(last, length - 1)
    if first >= length:
        raise ApiError(
            416,
            f"The range starts at byte {first}, past the end of the {length}-byte file.",
            param="range",
            code="range_not_satisfiable",
            headers={"content-range": f"bytes */{length}", "accept-ranges": "bytes"},
        )
    return first, last


def ranged(body: bytes, range_header: str | None, media_type: str) -> Response:
    """The whole ``body`` (200) or the one range the client asked for (206)."""
    span = parse(range_header, len(body))
    if span is None:
        return Response(body, media_type=media_type, headers={"accept-ranges": "bytes"})
    first, last = span
    headers = {"accept-ranges": "bytes", "content-range": f"bytes {first}-{last}/{len(body)}"}
    return Response(body[first : last + 1], 206, media_type=media_type, headers=headers)
