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
        # up to 16 stop sequences of up to 1,000 characters: 100,000 stalled a worker for 17 s
        ({**OK, "stop": ["zq"] * 17}, "stop"),
        ({**OK, "stop": "z" * 1001}, "stop"),
        ({**OK, "stop": ["z" * 1001]}, "stop[0]"),
        ({**OK, "logit_bias": {"abc": 1}}, "logit_bias"),  # token ids and -100..100, as OpenAI checks
        ({**OK, "logit_bias": {"1": 1e308}}, "logit_bias"),
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
    envelope(http.put("/v1/chat/completions"), 405)  # GET lists stored chat completions
    envelope(http.delete("/v1/embeddings"), 405)
    envelope(http.post("/v1/models"), 405)


@pytest.mark.parametrize(
    "method, path", [("POST", "/v1/chat/completions/"), ("GET", "/v1/files/"), ("POST", "/v1/embeddings/")]
)
def test_a_trailing_slash_is_a_404_never_a_redirect_to_the_host_header(http, method, path):
    """Starlette's slash redirect built its absolute URL from the client's Host header."""
    r = http.request(method, path, headers={"host": "evil.example"}, json=OK)
    assert "location" not in r.headers
    assert path in envelope(r, 404)["message"]


def test_the_dashboard_answers_with_a_trailing_slash_too(http):
    assert http.get("/dashboard/").text == http.get("/dashboard").text


def test_oversized_body_is_413(start_server):
    import httpx

    with start_server("--ttft", "0", "--itl", "0", "--max-body-bytes", "1000") as url:
        big = {**OK, "messages": [{"role": "user", "content": "x" * 5000}]}
        r = httpx.post(url + "/v1/chat/completions", json=big)
        error = envelope(r, 413)
        assert error["code"] == "request_too_large"
        # the server still answers normally afterwards
        assert httpx.post(url + "/v1/chat/completions", json=OK).status_code == 200


BIG = [2**31, 2**32, 2**63, 2**64, 10**30]
INTEGER_CASES = [
    *[("/v1/chat/completions", {**OK, "max_tokens": v}, "max_tokens") for v in BIG],
    *[("/v1/chat/completions", {**OK, "max_completion_tokens": v}, "max_completion_tokens") for v in BIG],
    *[("/v1/chat/completions", {**OK, "min_tokens": v}, "min_tokens") for v in BIG],
    *[("/v1/chat/completions", {**OK, "seed": v}, "seed") for v in (2**63, -(2**63) - 1, 10**30)],
    (
        "/v1/completions",
        {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "max_tokens": 2**32},
        "max_tokens",
    ),
    ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "seed": 2**64}, "seed"),
    ("/v1/responses", {"model": "gpt-4o", "input": "x", "max_output_tokens": 2**31}, "max_output_tokens"),
    ("/v1/responses", {"model": "gpt-4o", "input": "x", "seed": 2**63}, "seed"),
    ("/v1/images/generations", {"prompt": "a cat", "seed": 2**63}, "seed"),
    ("/v1/images/generations", {"prompt": "a cat", "seed": -(2**64)}, "seed"),
    ("/v1/fine_tuning/jobs", {"model": "gpt-4o-mini", "training_file": "file-x", "seed": 2**64}, "seed"),
    # vLLM's sampling extensions are typed as vLLM types them (they were accepted whatever they held)
    *[
        (path, {**body, field: value}, field)
        for path, body in (
            ("/v1/chat/completions", OK),
            ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "x"}),
        )
        for field, value in (
            ("top_k", 2**64),
            ("top_k", -2),
            ("top_k", 1.5),
            ("top_k", "1"),
            ("top_k", True),
            ("min_p", 1.5),
            ("repetition_penalty", 0),
            ("repetition_penalty", 1e308),
            ("best_of", 0),
        )
    ],
    *[
        ("/v1/responses", {"model": "gpt-4o", "input": "x", "max_tool_calls": v}, "max_tool_calls")
        for v in (-1, 1.5, "1", 2**64)
    ],
]


@pytest.mark.parametrize("path, body, param", INTEGER_CASES)
def test_integers_past_their_range_are_400(http, path, body, param):
    error = envelope(http.post(path, json=body), 400)
    assert error["param"] == param


@pytest.mark.parametrize(
    "field, value",
    [("max_tokens", 2**32), ("max_tokens", 2**64), ("top_k", 2**31), ("stop_sequences", ["zq"] * 17)],
)
def test_anthropic_messages_integers_past_their_range_are_400(http, field, value):
    body = {"model": "claude-3-5-sonnet", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}
    r = http.post("/v1/messages", json={**body, field: value}, headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith(field)


def test_vllm_sampling_extensions_in_range_are_accepted(http):
    extensions = {"top_k": -1, "min_p": 0.05, "repetition_penalty": 1.1, "best_of": 2}
    assert http.post("/v1/chat/completions", json={**OK, **extensions, "max_tokens": 3}).status_code == 200
    prompt = {"model": "gpt-3.5-turbo-instruct", "prompt": "x", "max_tokens": 3, "top_k": 40, "min_p": 0}
    assert http.post("/v1/completions", json=prompt).status_code == 200


def test_int32_and_int64_bounds_themselves_are_accepted(http):
    r = http.post("/v1/chat/completions", json={**OK, "seed": 2**63 - 1, "max_tokens": 5})
    assert r.status_code == 200, r.text
    r = http.post("/v1/chat/completions", json={**OK, "seed": -(2**63), "max_completion_tokens": 2**31 - 1})
    assert envelope(r, 400)["code"] == "context_length_exceeded"  # in range; past the model's window


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/responses",
        "/v1/files",
        "/v1/batches",
    ],
)
@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_json_nested_too_deep_is_400_even_in_an_ignored_field(http, path, depth):
    raw = '{"model": "gpt-4o", "ignored_extra": ' + nested(depth) + ', "messages": []}'
    error = envelope(http.post(path, content=raw, headers={"content-type": "application/json"}), 400)
    if path != "/v1/files":  # a multipart endpoint refuses a JSON body before reading it
        assert error["code"] == "invalid_json" and "64 levels" in error["message"]


def test_json_nested_to_the_limit_is_decoded(http):
    schema: dict = {"type": "string"}
    for _ in range(20):  # 3 levels each: {"type": "array", "items": {...}} inside response_format
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    body = {
        **OK,
        "max_tokens": 400,
        "response_format": {"type": "json_schema", "json_schema": {"name": "deep", "schema": schema}},
    }
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "path, field, value",
    [
        # each weighs more than 4M (an object 8, an array 2, an element 1): refused before decoding,
        # where it would have cost the worker 15-50 times its size
        ("/v1/chat/completions", "stop", ["a"] * 4_200_000),
        ("/v1/chat/completions", "ignored_extra", [{}] * 600_000),
        ("/v1/completions", "prompt", [[1] * 1_000] * 4_200),
        ("/v1/embeddings", "input", [[1] * 1_000] * 4_200),
        (
            "/v1/responses",
            "text",
            {
                "format": {
                    "type": "json_schema",
                    "name": "w",
                    "schema": {"properties": {f"p{i}": {} for i in range(500_000)}},
                }
            },
        ),
    ],
)
def test_json_holding_too_many_values_is_413_before_it_is_decoded(http, path, field, value):
    body = {"model": "gpt-4o", "messages": OK["messages"], "input": "x", field: value}
    error = envelope(http.post(path, json=body, timeout=60), 413)
    assert error["code"] == "request_too_large" and "too many values" in error["message"]


def test_a_heavy_but_real_request_is_decoded(http):
    # 300,000 token ids, OpenAI's most for one embeddings request, weigh 300,000
    body = {"model": "text-embedding-3-small", "input": [[1000] * 1_000] * 300}
    r = http.post("/v1/embeddings", json=body, timeout=60)
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 300


def test_jsonl_line_nested_too_deep_is_400_naming_the_line(client):
    import openai

    line = (
        b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": '
        + nested(200).encode()
        + b"}\n"
    )
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("batch.jsonl", line), purpose="batch")
    assert "line 1: nested more than 64 levels" in err.value.body["message"]
    assert err.value.body["param"] == "file"


@pytest.mark.parametrize("path", ["/v1/files", "/v1/audio/transcriptions", "/v1/images/edits"])
def test_multipart_boundary_longer_than_rfc_2046_is_400(http, path):
    boundary = "b" * 300
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--{boundary}--\r\n'
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    error = envelope(http.post(path, content=body.encode(), headers=headers), 400)
    assert "70 characters" in error["message"]


@pytest.mark.parametrize(
    "method, param",
    [
        ({"type": "supervised", "supervised": "x"}, "method.supervised"),
        (
            {"type": "supervised", "supervised": {"hyperparameters": [1, 2]}},
            "method.supervised.hyperparameters",
        ),
        ({"type": "dpo", "dpo": {"hyperparameters": "auto"}}, "method.dpo.hyperparameters"),
        ({"type": "dpo", "dpo": 5}, "method.dpo"),
    ],
)
def test_fine_tuning_method_of_the_wrong_shape_is_400(http, method, param):
    body = {"model": "gpt-4o-mini", "training_file": "file-x", "method": method}
    assert envelope(http.post("/v1/fine_tuning/jobs", json=body), 400)["param"] == param


@pytest.mark.parametrize("hyper", [[1, 2], "auto", 3])
def test_fine_tuning_hyperparameters_not_an_object_is_400(http, hyper):
    body = {"model": "gpt-4o-mini", "training_file": "file-x", "hyperparameters": hyper}
    assert envelope(http.post("/v1/fine_tuning/jobs", json=body), 400)["param"] == "hyperparameters"


#: Numbers written in text a client controls: a Unicode digit (``"²"`` passes ``str.isdigit`` but not
#: ``int``) and a digit string too long for ``int`` (Python refuses more than 4,300 digits).
ODD_DIGITS = ["\u00b2", "9" * 5000, "--5"]


@pytest.mark.parametrize("raw", ODD_DIGITS)
@pytest.mark.parametrize(
    "method, path, kwargs, param",
    [
        ("GET", "/v1/files", "limit", "limit"),
        ("GET", "/v1/videos", "limit", "limit"),
        ("GET", "/dcgm/metrics", "gpu", "gpu"),
        ("POST", "/v1/files", "expires_after[seconds]", "expires_after.seconds"),
        ("POST", "/v1/videos", "seconds", "seconds"),
        ("POST", "/v1/videos", "seed", "seed"),
        ("POST", "/v1/videos", "size", "size"),
    ],
)
def test_numbers_in_text_that_int_cannot_read_are_400(http, raw, method, path, kwargs, param):
    if method == "GET":
        r = http.get(path, params={kwargs: raw})
    elif path == "/v1/files":
        form = {"purpose": "assistants", "expires_after[anchor]": "created_at", kwargs: raw}
        r = http.post(path, data=form, files={"file": ("a.txt", b"x")})
    else:
        value = f"{raw}x16" if kwargs == "size" else raw
        r = http.post(path, data={"prompt": "x", "model": "wan", kwargs: value})
    assert envelope(r, 400)["param"] == param
