"""Byte ranges (:mod:`fakeai.http.ranges`): one range served, anything else ignored, a 416 past the end."""

from __future__ import annotations

import pytest

from fakeai.errors import ApiError
from fakeai.http import ranges


@pytest.mark.parametrize(
    "header, span",
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-1000", (0, 99)),
        ("bytes=95-1000", (95, 99)),
        (" BYTES = 5-6 ", (5, 6)),
        (None, None),
        ("bytes=0-1,5-6", None),  # several ranges: the whole body
        ("items=0-1", None),
        ("bytes=5-2", None),
        ("bytes=-0", None),
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("bytes=1-2-3", None),
        ("bytes=" + "9" * 100 + "-", None),  # too long to read
        ("bytes=\u00b2-", None),  # a Unicode digit (a latin-1 header byte) is not a number
    ],
)
def test_parse(header, span):
    assert ranges.parse(header, 100) == span


def test_a_range_past_the_end_is_a_416_with_the_length():
    with pytest.raises(ApiError) as e:
        ranges.parse("bytes=100-", 100)
    assert e.value.status == 416 and e.value.headers["content-range"] == "bytes */100"


def test_ranged_answers():
    body = bytes(range(100))
    whole = ranges.ranged(body, None, "video/mp4")
    assert whole.status_code == 200 and whole.body == body and whole.headers["accept-ranges"] == "bytes"
    part = ranges.ranged(body, "bytes=10-19", "video/mp4")
    assert part.status_code == 206 and part.body == body[10:20]
    assert part.headers["content-range"] == "bytes 10-19/100" and part.headers["content-length"] == "10"
