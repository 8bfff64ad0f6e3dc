from __future__ import annotations

import pytest

from fakeai.errors import ApiError
from fakeai.gateway import faults, overrides
from fakeai.gateway.chaos import Plan
from fakeai.gateway.overrides import Overrides, from_scope


def test_parse_reads_only_the_gateway_headers():
    headers = [
        (b"x-fakeai-error", b"overloaded"),
        (b"x-fakeai-stall-ms", b"250"),
        (b"x-fakeai-first-byte-ms", b"100"),
        (b"x-fakeai-ttft-ms", b"5"),  # another module's header: left alone
        (b"authorization", b"Bearer k"),
    ]
    got = overrides.parse(headers, chaos_after=4)
    assert got.error is faults.kind("503")
    assert got.chaos == Plan(stall_after=4, stall_s=0.25, first_byte_s=0.1)
    assert overrides.parse([(b"x-fakeai-ttft-ms", b"5")], 3) == overrides.Overrides()


@pytest.mark.parametrize(
    "name, value",
    [
        (b"x-fakeai-disconnect-after", b"-3"),
        (b"x-fakeai-malformed-after", b"-3"),
        (b"x-fakeai-stall-ms", b"-3"),
        # past the bounds, however long (a float of 400 digits once overflowed into a 500)
        (b"x-fakeai-first-byte-ms", b"9" * 400),
        (b"x-fakeai-first-byte-ms", b"3600001"),
        (b"x-fakeai-stall-ms", b"99999999999999999999999"),
        (b"x-fakeai-stall-after", b"1000000001"),
        (b"x-fakeai-disconnect-after", b"9" * 5000),
        (b"x-fakeai-fail-attempts", b"101"),
        # digits that are not ASCII
        (b"x-fakeai-malformed-after", "\uff11\uff12".encode()),
        (b"x-fakeai-stall-after", "\u00b2".encode("latin-1")),
    ],
)
def test_bad_numbers_are_400s_naming_the_header(name, value):
    with pytest.raises(ApiError) as exc:
        overrides.parse([(name, value)], 3)
    assert exc.value.status == 400 and exc.value.param == name.decode()


def test_the_bounds_themselves_are_accepted():
    got = overrides.parse(
        [(b"x-fakeai-first-byte-ms", b"3600000"), (b"x-fakeai-stall-after", b"1000000000")], 3
    )
    assert got.chaos == Plan(stall_after=1_000_000_000, first_byte_s=3600.0)


def test_strip_removes_every_x_fakeai_header():
    scope = {"headers": [(b"x-fakeai-ttft-ms", b"5"), (b"host", b"h"), (b"x-fakeai-error", b"500")]}
    overrides.strip(scope)
    assert scope["headers"] == [(b"host", b"h")]


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
    [
        (b"x-fakeai-ttft-ms", b"x"),
        (b"x-fakeai-ttft-ms", b"inf"),
        (b"x-fakeai-itl-ms", b"-1"),
        (b"x-fakeai-output-tokens", b"0"),
        (b"x-fakeai-output-tokens", b"2.0"),
    ],
)
def test_bad_values_raise_a_400_naming_the_header(name, value):
    with pytest.raises(ApiError) as err:
        from_scope(scope((name, value)))
    assert err.value.status == 400 and err.value.param == name.decode()
