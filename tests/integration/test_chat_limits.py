"""Context-window limits (chat and legacy completions) and predicted outputs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from fakeai import _core
from fakeai.runtime.process import children, free_port, server_cmd, spawn, stop

pytestmark = pytest.mark.integration

LONG = " ".join(["word"] * 4000)


def test_chat_context_length_exceeded_gives_the_numbers(client, http):
    msgs = [{"role": "user", "content": LONG}]
    prompt = client.chat.completions.create(
        model="gpt-3.5-turbo", messages=msgs, max_tokens=1
    ).usage.prompt_tokens
    completion = 16_385 - prompt + 1
    ok = client.chat.completions.create(model="gpt-3.5-turbo", messages=msgs, max_tokens=completion - 1)
    assert ok.usage.prompt_tokens == prompt
    r = http.post(
        "/v1/chat/completions", json={"model": "gpt-3.5-turbo", "messages": msgs, "max_tokens": completion}
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert error["message"] == (
        f"This model's maximum context length is 16385 tokens. However, you requested 16386 tokens "
        f"({prompt} in the messages, {completion} in the completion). "
        "Please reduce the length of the messages or completion."
    )


def test_chat_prompt_alone_over_the_window(http):
    msgs = [{"role": "user", "content": " ".join(["word"] * 17_000)}]
    r = http.post("/v1/chat/completions", json={"model": "gpt-3.5-turbo", "messages": msgs})
    assert r.status_code == 400
    assert "your messages resulted in 1700" in r.json()["error"]["message"]


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of process ``pid`` so far (``VmHWM``), in MB."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_tool_definitions_past_the_window_are_refused_before_they_are_parsed() -> None:
    """A 7.5 MB tool schema (under the JSON weight bound) is ~2M tokens: refused by its token count, not
    parsed first. Parsed, it cost the worker ~280 MB at its peak (and the parse cache kept it)."""
    port = free_port()
    proc = spawn(server_cmd(port, "--workers", "1", "--ttft", "0", "--itl", "0"), port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            assert http.get("/health").status_code == 200
            (worker,) = children(proc.pid)
            props = {f"p{i}": {"type": "string"} for i in range(300_000)}  # under the JSON weight bound
            tools = [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object", "properties": props}},
                }
            ]
            before = peak_rss_mb(worker)
            for key in ("tools", "functions"):
                declared = tools if key == "tools" else [tools[0]["function"]]
                body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], key: declared}
                r = http.post("/v1/chat/completions", json=body)
                assert r.status_code == 400
                error = r.json()["error"]
                assert (
                    error["code"] == "context_length_exceeded" and "in the functions" not in error["message"]
                )
                assert error["message"].startswith("This model's maximum context length is 128000 tokens.")
            assert peak_rss_mb(worker) - before < 200
            # a short list is counted after its parse, as before: the same words, with its share
            few = {"p": {"type": "string"}}
            small = [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object", "properties": few}},
                }
            ]
            body = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": LONG * 32}],
                "tools": small,
                "max_tokens": 5,
            }
            error = http.post("/v1/chat/completions", json=body).json()["error"]
            assert error["code"] == "context_length_exceeded" and "in the functions" in error["message"]
    finally:
        stop(proc)


def test_legacy_completions_context_length(http):
    r = http.post(
        "/v1/completions", json={"model": "gpt-3.5-turbo-instruct", "prompt": LONG, "max_tokens": 100}
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "prompt"
    assert (
        "maximum context length is 4096 tokens, however you requested 4100 tokens (4000 in your prompt; "
        "100 for the completion)" in error["message"]
    )


CODE = """class User:
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    email: str = ""

    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
"""


def test_predicted_outputs_reuse_the_prediction(client):
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Rename username to login."}],
        prediction={"type": "content", "content": CODE},
        seed=5,
    )
    details = r.usage.completion_tokens_details
    assert details.accepted_prediction_tokens > 0 and details.rejected_prediction_tokens > 0
    content = r.choices[0].message.content
    assert content.startswith("class User:") and content.endswith('f"{self.first_name} {self.last_name}"\n')
    assert details.accepted_prediction_tokens <= r.usage.completion_tokens
    parts = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        prediction={"type": "content", "content": [{"type": "text", "text": CODE}]},
        seed=5,
    )
    assert (
        parts.usage.completion_tokens_details.accepted_prediction_tokens == details.accepted_prediction_tokens
    )


@pytest.mark.parametrize("max_tokens", [None, 12])
def test_rejected_prediction_tokens_are_billed_as_completion_tokens(client, max_tokens):
    for seed in range(8):
        kw = dict(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Rename username to login."}],
            prediction={"type": "content", "content": CODE},
            seed=seed,
            max_tokens=max_tokens,
        )
        r = client.chat.completions.create(**kw)
        usage = r.usage
        details = usage.completion_tokens_details
        answer = _core.count_tokens(r.choices[0].message.content)
        # The reply's own tokens plus the rejected ones, as OpenAI bills a prediction.
        assert usage.completion_tokens == answer + details.rejected_prediction_tokens
        assert (
            usage.completion_tokens >= details.accepted_prediction_tokens + details.rejected_prediction_tokens
        )
        assert details.accepted_prediction_tokens <= answer
        if max_tokens is None:
            assert details.rejected_prediction_tokens > 0
        else:
            assert answer == max_tokens and r.choices[0].finish_reason == "length"
        chunks = list(
            client.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True})
        )
        assert chunks[-1].usage == usage


def test_accepted_prediction_tokens_are_generated_faster(start_server):
    import openai

    with start_server("--ttft", "0", "--itl", "30", "--jitter", "0") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as c:
            kw = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "seed": 1}
            t = time.monotonic()
            r = c.chat.completions.create(**kw, prediction={"type": "content", "content": CODE})
            predicted = time.monotonic() - t
            n = r.usage.completion_tokens
            t = time.monotonic()
            c.chat.completions.create(**kw, max_tokens=n, extra_body={"ignore_eos": True})
            plain = time.monotonic() - t
    assert predicted < plain * 0.75  # about 0.3 by the model; room for a loaded machine


@pytest.mark.parametrize(
    "prediction", [{"type": "content"}, {"type": "file", "content": "x"}, {"content": []}]
)
def test_bad_predictions_are_400s(http, prediction):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "prediction": prediction}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"].startswith("prediction")


HI = [{"role": "user", "content": "hi"}]


def test_a_forced_length_past_the_context_window_is_refused(http):
    body = {"model": "gpt-3.5-turbo", "messages": HI}
    r = http.post("/v1/chat/completions", json=body, headers={"x-fakeai-output-tokens": "20000"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "context_length_exceeded"
    r = http.post("/v1/chat/completions", json={**body, "min_tokens": 20_000})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_total_generated_tokens_are_bounded_by_the_server_cap(start_server):
    import httpx
    import openai

    flags = ("--ttft", "0", "--itl", "0", "--max-generated-tokens", "1000")
    with start_server(*flags, "--output-length-distribution", "fixed:5000") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            # n x 100,000 forced tokens (each fits the window; the default cap refuses it too): a 400.
            with pytest.raises(openai.BadRequestError) as err:
                client.chat.completions.create(
                    model="gpt-4o", messages=HI, n=128, extra_headers={"x-fakeai-output-tokens": "100000"}
                )
            assert err.value.body["param"] == "x-fakeai-output-tokens"
            assert "more than the 1000 tokens" in err.value.body["message"]
            with pytest.raises(openai.BadRequestError) as err:
                client.chat.completions.create(
                    model="gpt-4o", messages=HI, n=4, max_tokens=300, extra_body={"ignore_eos": True}
                )
            assert err.value.body["param"] == "max_tokens"
            with pytest.raises(openai.BadRequestError) as err:
                client.completions.create(
                    model="gpt-3.5-turbo-instruct",
                    prompt=["a", "b"],
                    n=2,
                    max_tokens=500,
                    extra_body={"min_tokens": 300},
                )
            assert err.value.body["param"] == "min_tokens"
            # Within the cap, exactly what was asked.
            r = client.chat.completions.create(
                model="gpt-4o", messages=HI, n=4, max_tokens=250, extra_body={"ignore_eos": True}
            )
            assert r.usage.completion_tokens == 1000
            # Natural lengths (fixed:5000 here) stop at cap / n, with finish_reason "length".
            r = client.chat.completions.create(model="gpt-4o", messages=HI, n=2)
            assert [c.finish_reason for c in r.choices] == ["length", "length"]
            assert r.usage.completion_tokens == 1000
            chunks = list(client.chat.completions.create(model="gpt-4o", messages=HI, n=8, stream=True))
            assert sum(1 for c in chunks for ch in c.choices if ch.delta.content) <= 1000
        assert httpx.get(url + "/health").status_code == 200


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(17)},
        {"k" * 65: "v"},
        {"k": "v" * 513},
        {f"k{i}": "v" for i in range(100_000)},
    ],
)
@pytest.mark.parametrize("store", [None, True])
def test_metadata_is_checked_as_openai_checks_it(http, metadata, store):
    """16 pairs, keys up to 64 characters, values up to 512, on every request (the Rust hot path
    decodes with the same rules), stored or not."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    if store is not None:
        body["store"] = store
    ok = http.post("/v1/chat/completions", json={**body, "metadata": {f"k{i}": "v" * 512 for i in range(16)}})
    assert ok.status_code == 200, ok.text
    r = http.post("/v1/chat/completions", json={**body, "metadata": metadata})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "metadata" and error["type"] == "invalid_request_error"
