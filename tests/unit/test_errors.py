from __future__ import annotations

import io

import msgspec
import orjson
import pytest
from starlette.datastructures import Headers, UploadFile

from fakeai import _core
from fakeai.errors import ApiError, invalid_body, rejected, shown
from fakeai.schemas.chat import ChatRequest

decoder = msgspec.json.Decoder(ChatRequest)


def error_for(raw: bytes) -> ApiError:
    with pytest.raises(msgspec.DecodeError) as e:
        decoder.decode(raw)
    return invalid_body(e.value)


def test_missing_nested_field_names_the_full_path():
    e = error_for(b'{"model":"m","messages":[{"role":"user"},{"content":"x"}]}')
    assert e.param == "messages[1].role" and e.code == "missing_required_parameter"


def test_wrong_type_names_the_field():
    e = error_for(b'{"model":"m","messages":[{"role":"user"}],"n":"x"}')
    assert e.param == "n" and e.status == 400


def test_malformed_json_has_no_param():
    e = error_for(b"{nope")
    assert e.param is None and e.code == "invalid_json"


def test_envelope_body():
    body = orjson.loads(ApiError(429, "slow down", type="requests", code="rate_limit_exceeded").body())
    assert body == {
        "error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }


def test_core_rejections_keep_their_param_and_code():
    e = rejected(_core.InvalidInput("Too long.", "messages", "context_length_exceeded"))
    assert (e.status, e.message, e.param, e.code) == (400, "Too long.", "messages", "context_length_exceeded")
    e = rejected(_core.InvalidInput("must not be an empty array"), param="prompt")
    assert (e.message, e.param) == ("Invalid 'prompt': must not be an empty array.", "prompt")


def test_the_core_raises_rejections_with_the_param():
    req = decoder.decode(b'{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"}')
    with pytest.raises(_core.InvalidInput) as e:
        _core.chat(req)
    assert e.value.args[1:] == ("reasoning_effort", "unsupported_parameter")


def test_a_client_value_is_shown_as_json_or_by_its_kind_never_as_a_python_repr():
    upload = UploadFile(io.BytesIO(b"x"), filename="f", headers=Headers({"content-type": "image/png"}))
    assert shown("file-x") == "'file-x'"
    assert shown("x" * 100) == repr("x" * 64 + "...")
    assert [shown(v) for v in (5, 1.5, True, False, None)] == ["5", "1.5", "true", "false", "null"]
    assert [shown(v) for v in ({"a": 1}, [1], upload, b"x")] == ["an object", "an array", "a file", "a file"]
