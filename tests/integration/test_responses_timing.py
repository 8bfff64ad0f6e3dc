"""``POST /v1/responses`` timing and per-request options, as chat's: a tool call takes its own tokens'
time (not the text answer's it replaced), streamed a token per ITL; the ``x-fakeai-*`` overrides;
what OpenAI's reasoning models refuse; and ``output_text.logprobs``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pydantic
import pytest
from openai.types.responses import ResponseStreamEvent

from fakeai import _core

pytestmark = pytest.mark.integration

ITL = 0.05
#: A function whose arguments run some 20-40 tokens.
FORM = {
    "type": "function",
    "name": "file_report",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city", "country", "unit", "days"],
        "additionalProperties": False,
    },
}
STREAM_EVENT = pydantic.TypeAdapter(ResponseStreamEvent)


@pytest.fixture(scope="module")
def slow(start_server) -> Iterator[str]:
    """A server at 50 ms per token, no TTFT."""
    with start_server("--ttft", "0", "--itl", str(int(ITL * 1000))) as url:
        yield url


def timed_post(url: str, body: dict, headers: dict | None = None) -> tuple[float, dict]:
    start = time.perf_counter()
    r = httpx.post(url + "/v1/responses", json=body, headers=headers, timeout=30)
    took = time.perf_counter() - start
    assert r.status_code == 200, r.text
    return took, r.json()


def timed_events(url: str, body: dict, headers: dict | None = None) -> list[tuple[float, dict]]:
    """A stream's events, each with when it arrived (seconds from the request)."""
    start = time.perf_counter()
    out = []
    with httpx.stream(
        "POST", url + "/v1/responses", json={**body, "stream": True}, headers=headers, timeout=30
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                STREAM_EVENT.validate_python(event)  # the SDK's types
                out.append((time.perf_counter() - start, event))
    return out


def argument_tokens(call: dict) -> int:
    return _core.count_tokens(call["arguments"])


def test_non_streamed_function_call_waits_for_its_own_tokens(slow: str) -> None:
    """Before: 7-22 s for a 13-token call at 50 ms (the text answer's time); chat takes 0.5-1.2 s."""
    took, r = timed_post(slow, {"model": "gpt-4o", "input": "report for Paris", "tools": [FORM]})
    [call] = r["output"]
    assert call["type"] == "function_call"
    n = argument_tokens(call)
    assert r["usage"]["output_tokens"] == n + _core.count_tokens("file_report")
    # a token of the arguments per ITL after the name, as chat times its tool call (jitter +-10%)
    assert 0.8 * n * ITL <= took <= 1.3 * r["usage"]["output_tokens"] * ITL + 0.3


def test_non_streamed_reasoning_call_adds_the_reasoning_time(start_server) -> None:
    with start_server("--ttft", "0", "--itl", "0") as url:
        body = {"model": "o3-mini", "input": "report", "tools": [FORM], "reasoning": {"effort": "minimal"}}
        took, r = timed_post(url, body, {"x-fakeai-itl-ms": "20"})
    thought = r["usage"]["output_tokens_details"]["reasoning_tokens"]
    call = r["output"][-1]
    assert thought > 0 and call["type"] == "function_call"
    assert (
        0.8 * (thought + argument_tokens(call)) * 0.02
        <= took
        <= r["usage"]["output_tokens"] * 0.02 * 1.3 + 0.3
    )


def test_streamed_function_call_arguments_arrive_a_token_per_itl(slow: str) -> None:
    """Before: one delta, the whole call in ~7 ms at 50 ms per token."""
    events = timed_events(slow, {"model": "gpt-4o", "input": "report for Rome", "tools": [FORM]})
    deltas = [(t, e) for t, e in events if e["type"] == "response.function_call_arguments.delta"]
    [(done_at, done)] = [(t, e) for t, e in events if e["type"] == "response.function_call_arguments.done"]
    n = argument_tokens(done)
    assert len(deltas) == n > 5
    assert "".join(e["delta"] for _, e in deltas) == done["arguments"]
    first, last = deltas[0][0], deltas[-1][0]
    assert last - first >= 0.8 * (n - 1) * ITL  # spread over the tokens, not in one burst
    assert first >= 0.8 * ITL  # the name (output_item.added) comes first, an ITL before
    end_at, end = events[-1]
    assert end["type"] == "response.completed" and end_at >= last and done_at >= last
    kinds = [e["type"] for _, e in events]
    assert kinds.index("response.output_item.done") > kinds.index("response.function_call_arguments.done")
    assert end_at <= (n + 4) * ITL * 1.3 + 0.3


def test_per_request_timing_headers(start_server) -> None:
    """Before: ignored (20 tokens at ``x-fakeai-itl-ms: 50``: 0.004 s; chat 1.0 s)."""
    with start_server("--ttft", "0", "--itl", "0") as url:
        body = {"model": "gpt-4o", "input": "hi", "max_output_tokens": 16}
        fast, _ = timed_post(url, body)
        paced, r = timed_post(url, body, {"x-fakeai-itl-ms": "50", "x-fakeai-output-tokens": "16"})
        assert r["usage"]["output_tokens"] == 16
        assert paced >= 0.8 * 15 * 0.05 and fast < paced / 3
        late, _ = timed_post(url, body, {"x-fakeai-ttft-ms": "400"})
        assert 0.35 <= late < 2
        events = timed_events(url, body, {"x-fakeai-ttft-ms": "400"})
        first = next(t for t, e in events if e["type"] == "response.output_text.delta")
        assert first >= 0.35 and events[0][0] < first  # created at once, the text after the TTFT
        events = timed_events(url, {**body, "tools": [FORM]}, {"x-fakeai-itl-ms": "40"})
        deltas = [t for t, e in events if e["type"] == "response.function_call_arguments.delta"]
        assert deltas[-1] - deltas[0] >= 0.8 * (len(deltas) - 1) * 0.04
        start = time.perf_counter()
        compact = httpx.post(
            url + "/v1/responses/compact",
            json={"model": "gpt-4o", "input": "hello there"},
            headers={"x-fakeai-ttft-ms": "400"},
            timeout=30,
        )
        assert compact.status_code == 200 and time.perf_counter() - start >= 0.35


def test_hidden_reasoning_models_refuse_sampling_options(client: openai.OpenAI) -> None:
    for model in ("gpt-5", "o3-mini"):
        for param, value in (("temperature", 0.2), ("top_p", 0.5)):
            with pytest.raises(openai.BadRequestError) as e:
                client.responses.create(model=model, input="hi", **{param: value})
            assert e.value.code == "unsupported_value" and e.value.param == param
            assert e.value.body["message"] == (
                f"Unsupported value: '{param}' does not support {value} with this model. "
                "Only the default (1) value is supported."
            )
        client.responses.create(model=model, input="hi", temperature=1, top_p=1)  # the defaults pass
    # GPT-5.1 and later sample at effort none (their default), not while they reason
    client.responses.create(model="gpt-5.1", input="hi", temperature=0.2, top_p=0.5)
    client.responses.create(model="gpt-5.1", input="hi", temperature=0.2, reasoning={"effort": "none"})
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="gpt-5.1", input="hi", temperature=0.2, reasoning={"effort": "low"})
    assert e.value.param == "temperature"
    client.responses.create(model="gpt-4o", input="hi", temperature=0.2, top_p=0.5)


def test_effort_none_only_from_gpt_5_1(client: openai.OpenAI) -> None:
    said = (
        "Unsupported value: '{}' does not support 'none' with this model. "
        "Supported values are: 'minimal', 'low', 'medium', and 'high'."
    )
    for model in ("gpt-5", "o3-mini"):
        with pytest.raises(openai.BadRequestError) as e:
            client.responses.create(model=model, input="hi", reasoning={"effort": "none"})
        assert e.value.param == "reasoning.effort" and e.value.code == "unsupported_value"
        assert e.value.body["message"] == said.format("reasoning.effort")
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], reasoning_effort="none"
            )
        assert e.value.param == "reasoning_effort" and e.value.body["message"] == said.format(
            "reasoning_effort"
        )
    for model in ("gpt-5.1", "Qwen/Qwen3-8B"):  # GPT-5.1's none, and open models keep it
        r = client.responses.create(model=model, input="hi", reasoning={"effort": "none"})
        assert r.usage.output_tokens_details.reasoning_tokens == 0
        c = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], reasoning_effort="none"
        )
        assert c.usage.completion_tokens_details.reasoning_tokens == 0


def test_output_text_logprobs(client: openai.OpenAI, base_url: str) -> None:
    """Before: ``top_logprobs`` echoed as null and ``logprobs: []`` everywhere."""
    include = ["message.output_text.logprobs"]
    r = client.responses.create(
        model="gpt-4o", input="hi", include=include, top_logprobs=3, max_output_tokens=24
    )
    assert r.top_logprobs == 3
    part = r.output[0].content[0]
    assert part.logprobs and "".join(lp.token for lp in part.logprobs) == part.text
    assert len(part.logprobs) == r.usage.output_tokens
    for lp in part.logprobs:
        assert lp.logprob <= 0 and bytes(lp.bytes) == lp.token.encode() and len(lp.top_logprobs) == 3
        assert all(t.logprob <= 0 for t in lp.top_logprobs)
    plain = client.responses.create(model="gpt-4o", input="hi", max_output_tokens=24)
    assert plain.output[0].content[0].logprobs == []  # only when include asks
    events = [
        e
        for _, e in timed_events(
            base_url,
            {
                "model": "gpt-4o",
                "input": "hi",
                "include": include,
                "top_logprobs": 1,
                "max_output_tokens": 24,
            },
        )
    ]
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    done = next(e for e in events if e["type"] == "response.output_text.done")
    tokens = [lp for d in deltas for lp in d["logprobs"]]
    assert "".join(lp["token"] for lp in tokens) == done["text"] and done["logprobs"] == tokens
    assert len(tokens) == len(done["text"] and tokens) and all(len(lp["top_logprobs"]) == 1 for lp in tokens)
    assert sum(bool(d["logprobs"]) for d in deltas) >= len(deltas) - 1  # each delta's own tokens
