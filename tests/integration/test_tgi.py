"""Hugging Face TGI's ``/generate``, ``/generate_stream`` and compat ``/`` routes over real servers:
TGI's shapes, lengths, timing, validation errors in TGI's envelope, metrics and usage."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
PROMPT = "What is deep learning?"


@pytest.fixture(scope="module")
def url(start_server) -> Iterator[str]:
    """A server of its own (the metrics and usage tests count exactly what this module sent)."""
    with start_server("--ttft", "0", "--itl", "0", "--lora-modules", "sql=/loras/sql") as base:
        yield base


@pytest.fixture()
def tgi(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as c:
        yield c


def generate(c: httpx.Client, path: str = "/generate", inputs: str = PROMPT, **parameters) -> httpx.Response:
    return c.post(path, json={"inputs": inputs, "parameters": parameters})


def events(r: httpx.Response) -> list[dict]:
    """The stream's events, checking TGI's framing: ``data:{json}`` blocks ended by a blank line."""
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    blocks = r.text.split("\n\n")
    assert blocks[-1] == ""
    assert all(b.startswith("data:{") for b in blocks[:-1]), r.text[:300]
    return [orjson.loads(b[5:]) for b in blocks[:-1]]


def test_generate_answers_the_asked_length_with_details(tgi):
    r = generate(tgi, max_new_tokens=7, details=True, ignore_eos=True)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    details = body["details"]
    assert details["generated_tokens"] == 7 and details["finish_reason"] == "length"
    assert details["seed"] is None and details["prefill"] == []  # greedy; no decoder_input_details
    assert len(details["tokens"]) == 7
    assert "".join(t["text"] for t in details["tokens"]) == body["generated_text"]
    for token in details["tokens"]:
        assert set(token) == {"id", "text", "logprob", "special"}
        assert type(token["id"]) is int and token["logprob"] <= 0 and token["special"] is False
    assert "top_tokens" not in details and "best_of_sequences" not in details


def test_length_without_details_and_the_default_of_100(tgi):
    body = generate(tgi, max_new_tokens=5).json()
    assert set(body) == {"generated_text"}  # natural lengths start at 32: the cap decides
    counted = tgi.post("/tokenize", json={"model": MODEL, "prompt": body["generated_text"]}).json()
    assert counted["count"] == 5
    details = generate(tgi, details=True, ignore_eos=True).json()["details"]
    assert details["generated_tokens"] == 100  # TGI's default max_new_tokens


def test_return_full_text_prepends_the_prompt(tgi):
    plain = generate(tgi, max_new_tokens=6).json()["generated_text"]
    full = generate(tgi, max_new_tokens=6, return_full_text=True).json()["generated_text"]
    assert full == PROMPT + plain  # greedy: the same inputs give the same text


def test_stream_sends_one_event_per_token_and_the_whole_text_last(tgi):
    got = events(generate(tgi, "/generate_stream", max_new_tokens=9, details=True, ignore_eos=True))
    assert len(got) == 9
    assert [e["index"] for e in got] == list(range(1, 10))
    for e in got[:-1]:
        assert list(e) == ["index", "token", "generated_text", "details"]
        assert e["generated_text"] is None and e["details"] is None
    last = got[-1]
    assert last["generated_text"] == "".join(e["token"]["text"] for e in got)
    prompt_tokens = tgi.post("/tokenize", json={"model": MODEL, "prompt": PROMPT}).json()["count"]
    assert last["details"] == {
        "finish_reason": "length",
        "generated_tokens": 9,
        "seed": None,
        "input_length": prompt_tokens,
    }


def test_stream_without_details_and_with_top_tokens(tgi):
    got = events(generate(tgi, "/generate_stream", max_new_tokens=4, top_n_tokens=3, return_full_text=True))
    assert got[-1]["details"] is None
    assert got[-1]["generated_text"] == PROMPT + "".join(e["token"]["text"] for e in got)
    for e in got:
        assert 1 <= len(e["top_tokens"]) <= 3
        assert all(set(t) == {"id", "text", "logprob", "special"} for t in e["top_tokens"])


def test_compat_route_lists_the_answer_or_streams(tgi):
    r = tgi.post("/", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 3}})
    assert r.status_code == 200
    [answer] = r.json()
    assert answer["generated_text"].startswith(PROMPT)  # TGI's default there for text-generation models
    r = tgi.post("/", json={"inputs": PROMPT, "stream": True, "parameters": {"max_new_tokens": 3}})
    assert len(events(r)) == 3


def test_sampling_reports_its_seed_and_repeats_with_it(tgi):
    one = generate(tgi, max_new_tokens=8, do_sample=True, seed=42, details=True).json()
    two = generate(tgi, max_new_tokens=8, do_sample=True, seed=42, details=True).json()
    assert one["details"]["seed"] == 42 and one["generated_text"] == two["generated_text"]
    drawn = generate(tgi, max_new_tokens=8, temperature=0.7, details=True).json()["details"]["seed"]
    assert type(drawn) is int and 0 <= drawn < 2**64
    again = generate(tgi, max_new_tokens=8, do_sample=True, seed=drawn, details=True).json()
    assert again["details"]["seed"] == drawn
    u64 = generate(tgi, max_new_tokens=2, do_sample=True, seed=2**64 - 1, details=True)
    assert u64.status_code == 200 and u64.json()["details"]["seed"] == 2**64 - 1


def test_decoder_input_details_and_truncate(tgi):
    details = generate(tgi, max_new_tokens=2, details=True, decoder_input_details=True).json()["details"]
    prefill = details["prefill"]
    assert "".join(t["text"] for t in prefill) == PROMPT
    assert prefill[0]["logprob"] is None and all(t["logprob"] <= 0 for t in prefill[1:])
    got = events(generate(tgi, "/generate_stream", max_new_tokens=2, details=True, truncate=2))
    assert got[-1]["details"]["input_length"] == 2
    details = generate(tgi, max_new_tokens=2, details=True, decoder_input_details=True, truncate=3).json()
    assert [t["text"] for t in details["details"]["prefill"]] == [" deep", " learning", "?"]


def test_stop_sequences_and_adapters(tgi):
    details = generate(tgi, max_new_tokens=50, stop=[" "], details=True).json()["details"]
    assert details["finish_reason"] == "stop_sequence" and details["generated_tokens"] < 50
    r = generate(tgi, max_new_tokens=3, adapter_id="sql")
    assert r.status_code == 200
    r = generate(tgi, max_new_tokens=3, adapter_id="not-loaded")
    assert r.status_code == 424
    assert r.json() == {
        "error": "Request failed during generation: Server error: Adapter 'not-loaded' is not loaded.",
        "error_type": "generation",
    }


BAD = [
    ({"parameters": {"max_new_tokens": 3}}, 422, "missing required field `inputs`"),
    ({"inputs": 5}, 422, "Failed to deserialize the JSON body"),
    ({"inputs": "hi", "parameters": "max_new_tokens=3"}, 422, "Failed to deserialize the JSON body"),
    ({"inputs": "hi", "parameters": {"max_new_tokens": -1}}, 422, "parameters.max_new_tokens"),
    ({"inputs": "hi", "parameters": {"max_new_tokens": 10**12}}, 422, "parameters.max_new_tokens"),
    ({"inputs": "hi", "parameters": {"max_new_tokens": 4_000_000_000}}, 422, "maximum context length"),
    (
        {"inputs": "hi", "parameters": {"max_new_tokens": 0}},
        422,
        "`max_new_tokens` must be strictly positive",
    ),
    ({"inputs": ""}, 422, "`inputs` cannot be empty"),
    ({"inputs": "hi", "parameters": {"top_p": 1.5}}, 422, "`top_p` must be > 0.0 and < 1.0"),
    ({"inputs": "hi", "parameters": {"temperature": 0}}, 422, "`temperature` must be strictly positive"),
    ({"inputs": "hi", "parameters": {"stop": ["a", "b", "c", "d", "e"]}}, 422, "up to 4 stop sequences"),
    ({"inputs": "hi", "parameters": {"top_n_tokens": 6}}, 422, "`top_n_tokens` must be >= 0 and <= 5"),
    ({"inputs": "hi", "parameters": {"best_of": 2, "do_sample": True}}, None, "`best_of`"),
    ({"inputs": "hi", "parameters": {"seed": 2**64}}, 422, "parameters.seed"),
    ({"inputs": "hi", "parameters": {"truncate": 0}}, 422, "`truncate` must be strictly positive"),
    (b"not json", 400, "Failed to parse the request body as JSON"),
    (b"[" * 70 + b"]" * 70, 400, "nested more than 64 levels"),
]


@pytest.mark.parametrize("path", ["/generate", "/generate_stream", "/"])
@pytest.mark.parametrize(("body", "status", "said"), BAD)
def test_bad_inputs_are_4xx_in_tgi_envelope(tgi, path, body, status, said):
    r = tgi.post(path, content=body) if isinstance(body, bytes) else tgi.post(path, json=body)
    if status is None:  # best_of 2 is valid for one body, and refused when streaming
        if path == "/generate_stream":
            assert r.status_code == 422 and "not supported when streaming" in r.json()["error"]
        else:
            assert r.status_code == 200
        return
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()
    assert set(error) == {"error", "error_type"} and error["error_type"] == "validation"
    assert said in error["error"], error


def test_decoder_input_details_cannot_stream(tgi):
    r = generate(tgi, "/generate_stream", decoder_input_details=True)
    assert r.status_code == 422
    assert r.json()["error"] == (
        "Input validation error: `decoder_input_details` == true is not supported when streaming tokens"
    )


def test_requests_count_in_metrics_and_usage(start_server):
    with start_server("--ttft", "0", "--itl", "0") as base, httpx.Client(base_url=base, timeout=10) as c:
        start = int(time.time()) - 1
        prompt_tokens = completion_tokens = 0
        for _ in range(3):
            details = generate(c, max_new_tokens=5, details=True, decoder_input_details=True).json()[
                "details"
            ]
            prompt_tokens += len(details["prefill"])
            completion_tokens += details["generated_tokens"]
        for _ in range(2):
            last = events(generate(c, "/generate_stream", max_new_tokens=4, details=True))[-1]["details"]
            prompt_tokens += last["input_length"]
            completion_tokens += last["generated_tokens"]
        assert generate(c, inputs="").status_code == 422
        deadline = time.monotonic() + 5
        while (doc := c.get("/metrics").json())["endpoints"].get("/generate_stream", {}).get(
            "requests"
        ) != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert doc["endpoints"]["/generate"]["requests"] == 4
        assert doc["endpoints"]["/generate"]["by_status"] == {"200": 3, "422": 1}
        assert doc["endpoints"]["/generate_stream"]["by_status"] == {"200": 2}
        params = {"start_time": start, "group_by": "model"}
        page = c.get("/v1/organization/usage/completions", params=params).json()
        [served] = [r for b in page["data"] for r in b["results"] if r["model"] == MODEL]
        assert served["num_model_requests"] == 5
        assert (served["input_tokens"], served["output_tokens"]) == (prompt_tokens, completion_tokens)


def test_timing_follows_the_ttft(start_server):
    with start_server("--ttft", "200", "--itl", "0") as base, httpx.Client(base_url=base, timeout=10) as c:
        generate(c, max_new_tokens=2)  # warm-up
        began = time.perf_counter()
        with c.stream(
            "POST", "/generate_stream", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 5}}
        ) as r:
            first = next(line for line in r.iter_lines() if line.startswith("data:"))
            waited = time.perf_counter() - began
        assert orjson.loads(first[5:])["index"] == 1
        assert waited >= 0.15
        began = time.perf_counter()
        assert generate(c, max_new_tokens=5).status_code == 200
        assert time.perf_counter() - began >= 0.15


def test_the_engine_model_times_a_generate_as_the_same_completion(start_server):
    with start_server("--timing", "engine") as base, httpx.Client(base_url=base, timeout=30) as c:
        generate(c, max_new_tokens=2)  # warm-up
        body = {"model": MODEL, "prompt": PROMPT, "max_tokens": 40, "ignore_eos": True}
        began = time.perf_counter()
        assert c.post("/v1/completions", json=body).status_code == 200
        completion = time.perf_counter() - began
        began = time.perf_counter()
        assert generate(c, max_new_tokens=40, ignore_eos=True).status_code == 200
        tgi = time.perf_counter() - began
    assert completion >= 0.1  # 40 decode steps of an 8B model on the default GPU
    assert 0.7 <= tgi / completion <= 1.4


def test_gateway_errors_are_in_tgi_envelope(start_server):
    flags = ("--api-key", "secret", "--max-body-bytes", "2000", "--enable-sleep-mode")
    with start_server(*flags) as base, httpx.Client(base_url=base, timeout=10) as c:
        r = c.post("/generate", json={"inputs": PROMPT})
        assert r.status_code == 401 and set(r.json()) == {"error", "error_type"}
        c.headers["authorization"] = "Bearer secret"
        r = c.post("/generate_stream", json={"inputs": "x" * 5000})
        assert r.status_code == 413 and r.json()["error_type"] == "validation"
        assert c.post("/sleep").status_code == 200
        for path in ("/", "/generate"):  # the engine sleeps
            r = c.post(path, json={"inputs": PROMPT})
            assert r.status_code == 503 and r.json()["error_type"] == "overloaded"
        assert c.post("/wake_up").status_code == 200
        assert c.post("/", json={"inputs": PROMPT, "parameters": {"max_new_tokens": 2}}).status_code == 200


def test_rate_limits_faults_and_chaos_apply_to_tgis_routes(start_server):
    """TGI's routes are inference routes to the gateway: a rate limit counts them (429 in TGI's
    envelope, with OpenAI's limit headers), an injected error answers in TGI's envelope, and a chaos
    header cuts a stream. Before, all three passed TGI's routes by."""
    with start_server("--ttft", "0", "--itl", "0", "--rpm", "2") as base, httpx.Client(base_url=base) as c:
        ok = [
            c.post(path, json={"inputs": PROMPT, "parameters": {"max_new_tokens": 2}})
            for path in ("/generate", "/")
        ]
        assert [r.status_code for r in ok] == [200, 200]
        assert ok[0].headers["x-ratelimit-limit-requests"] == "2"
        refused = c.post("/generate_stream", json={"inputs": PROMPT})
        assert refused.status_code == 429 and refused.json()["error_type"] == "overloaded"
        assert float(refused.headers["retry-after"]) > 0
        assert c.get("/health").status_code == 200  # not an inference route
    with start_server("--ttft", "0", "--itl", "0") as base, httpx.Client(base_url=base) as c:
        for header in ("x-fakeai-ttft-ms", "x-fakeai-error"):  # header errors are 400s, as on /v1/
            r = c.post("/generate", json={"inputs": PROMPT}, headers={header: "soon"})
            assert r.status_code == 400 and r.json()["error_type"] == "validation", (header, r.text)
        r = c.post("/generate", json={"inputs": PROMPT}, headers={"x-fakeai-error": "503"})
        assert r.status_code == 503 and r.json() == {
            "error": r.json()["error"],
            "error_type": "overloaded",
        }
        body = {"inputs": PROMPT, "parameters": {"max_new_tokens": 20}}
        with pytest.raises(httpx.RemoteProtocolError):
            with c.stream(
                "POST", "/generate_stream", json=body, headers={"x-fakeai-disconnect-after": "3"}
            ) as s:
                for _ in s.iter_lines():
                    pass
        assert c.get("/").status_code == 200  # TGI's GET / (its health route) stays untouched
