"""Bad input never yields a 500: every case answers the OpenAI error envelope with the right status."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

OK = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def envelope(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


@pytest.mark.parametrize(
    "body, param",
    [
        ({"messages": OK["messages"]}, "model"),
        ({"model": "gpt-4o"}, "messages"),
        ({"model": "gpt-4o", "messages": []}, "messages"),
        ({**OK, "n": 0}, "n"),
        ({**OK, "n": "2"}, "n"),
        ({**OK, "max_tokens": 0}, "max_tokens"),
        ({**OK, "max_tokens": -5}, "max_tokens"),
        ({**OK, "max_completion_tokens": 0}, "max_completion_tokens"),
        ({**OK, "temperature": 3}, "temperature"),
        ({**OK, "top_p": "high"}, "top_p"),
        ({**OK, "stream": "yes"}, "stream"),
        ({**OK, "stop": 5}, "stop"),
        ({**OK, "top_logprobs": 3}, "top_logprobs"),
        ({**OK, "logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"model": "gpt-4o", "messages": [{"content": "no role"}]}, "messages[0].role"),
        ({"model": "gpt-4o", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": 42}]}, "messages[0].content"),
        (
            {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "bogus"}]}]},
            "messages[0].content[0].type",
        ),
        ({"model": "", "messages": OK["messages"]}, "model"),
        ({"model": 7, "messages": OK["messages"]}, "model"),
    ],
)
def test_chat_bad_fields_name_the_param(http, body, param):
    error = envelope(http.post("/v1/chat/completions", json=body), 400)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("raw", [b"{bad", b"", b"[]", b"null", b'{"model": "x", "messages": [}', b"\xff\xfe"])
def test_invalid_json_is_400(http, raw):
    r = http.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    envelope(r, 400)


def test_unknown_route_is_404_and_wrong_method_is_405(http):
    error = envelope(http.get("/v1/does-not-exist"), 404)
    assert "/v1/does-not-exist" in error["message"]
    envelope(http.get("/v1/chat/completions"), 405)
    envelope(http.delete("/v1/embeddings"), 405)
    envelope(http.post("/v1/models"), 405)


def test_oversized_body_is_413(start_server):
    import httpx

    with start_server("--ttft", "0", "--itl", "0", "--max-body-bytes", "1000") as url:
        big = {**OK, "messages": [{"role": "user", "content": "x" * 5000}]}
        r = httpx.post(url + "/v1/chat/completions", json=big)
        error = envelope(r, 413)
        assert error["code"] == "request_too_large"
        # the server still answers normally afterwards
        assert httpx.post(url + "/v1/chat/completions", json=OK).status_code == 200
