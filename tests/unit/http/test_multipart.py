"""Form fields (:mod:`fakeai.http.multipart`): numbers are ASCII text within their range, else a 400."""

from __future__ import annotations

import httpx
import pytest
from starlette.datastructures import FormData

from fakeai.errors import ApiError
from fakeai.http import multipart


@pytest.mark.parametrize(
    "raw, integer, value",
    [
        ("4", True, 4),
        ("10", True, 10),
        ("0.5", False, 0.5),
        (".5", False, 0.5),
        ("1", False, 1.0),
        ("5e-1", False, 0.5),
        ("\u0664", True, None),  # Arabic-Indic 4: int() takes it, the API does not
        ("\u0660.\u0665", False, None),  # Arabic-Indic 0.5, which float() takes
        ("\uff14", True, None),  # fullwidth 4
        ("11", True, None),
        ("0", True, None),
        ("-1", True, None),
        (" 4", True, None),
        ("4.0", True, None),
        ("1_0", True, None),
        ("9" * 5000, True, None),
        ("nan", False, None),
        ("inf", False, None),
        ("1e400", False, None),
        ("1.5", False, None),
        ("0x1", False, None),
    ],
)
def test_number_reads_ascii_text_within_range(raw: str, integer: bool, value: float | None) -> None:
    form = FormData([("n", raw)])
    hi = 10 if integer else 1
    if value is not None:
        assert multipart.number(form, "n", 7, 0 if not integer else 1, hi, integer=integer) == value
        return
    with pytest.raises(ApiError) as err:
        multipart.number(form, "n", 7, 0 if not integer else 1, hi, integer=integer)
    assert err.value.status == 400 and err.value.param == "n" and err.value.code == "invalid_value"
    assert len(str(err.value)) < 200


def test_a_missing_number_takes_its_default() -> None:
    assert multipart.number(FormData([]), "n", 7, 1, 10, integer=True) == 7


@pytest.mark.integration
def test_a_unicode_digit_is_not_a_number_on_image_edits(http: httpx.Client) -> None:
    from tests.integration.test_broken_bodies import a_png

    files = {"image": ("a.png", a_png(), "image/png")}
    r = http.post("/v1/images/edits", data={"prompt": "x", "n": "\u0664"}, files=files)
    assert r.status_code == 400 and r.json()["error"]["param"] == "n", r.text[:300]
    r = http.post("/v1/images/edits", data={"prompt": "x", "n": "4"}, files=files)
    assert r.status_code == 200 and len(r.json()["data"]) == 4
