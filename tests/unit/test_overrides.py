from __future__ import annotations

import pytest

from fakeai.engine.overrides import Overrides, from_scope
from fakeai.errors import ApiError


def scope(*headers: tuple[bytes, bytes]) -> dict:
    return {"headers": [(b"content-type", b"application/json"), *headers]}


def test_no_fakeai_header_gives_none():
    assert from_scope(scope()) is None
    assert from_scope(scope((b"x-fakeai-someday", b"1"))) is None


def test_headers_are_parsed():
    got = from_scope(
        scope((b"x-fakeai-ttft-ms", b" 12.5 "), (b"x-fakeai-itl-ms", b"0"), (b"x-fakeai-output-tokens", b"9"))
    )
    assert got == Overrides(ttft_ms=12.5, itl_ms=0.0, output_tokens=9)


@pytest.mark.parametrize(
    "name, value",
    [(b"x-fakeai-ttft-ms", b"x"), (b"x-fakeai-ttft-ms", b"inf"), (b"x-fakeai-itl-ms", b"-1"),
     (b"x-fakeai-output-tokens", b"0"), (b"x-fakeai-output-tokens", b"2.0")],
)
def test_bad_values_raise_a_400_naming_the_header(name, value):
    with pytest.raises(ApiError) as err:
        from_scope(scope((name, value)))
    assert err.value.status == 400 and err.value.param == name.decode()
