"""The simulated cluster through the public API: prefix caching, prefill time, queueing, slot release."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.1-70B-Instruct"  # profile: 250 us of prefill per uncached prompt token


def system_prompt(topic: str) -> str:
    """About 1,000 tokens of system prompt, different per topic."""
    rule = "{topic} rule {i}: answer {topic} questions plainly and cite the handbook."
    return " ".join(rule.format(topic=topic, i=i) for i in range(90))


def messages(topic: str, question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt(topic)}, {"role": "user", "content": question}]


def first_token_seconds(client: openai.OpenAI, msgs: list[dict[str, str]]) -> float:
    start = time.perf_counter()
    stream = client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=2, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            elapsed = time.perf_counter() - start
            stream.close()
            return elapsed
    raise AssertionError("no content chunk")


def test_repeated_system_prompt_is_cached_and_prefills_faster(start_server):
    with (
        start_server("--itl", "1", "--jitter", "0") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client,
    ):
        first = client.chat.completions.create(model=MODEL, messages=messages("billing", "Hi?"), max_tokens=2)
        again = client.chat.completions.create(
            model=MODEL, messages=messages("billing", "Refunds?"), max_tokens=2
        )
        warm = first_token_seconds(client, messages("billing", "Invoices?"))
        cold = first_token_seconds(client, messages("shipping", "Parcels?"))
        kv = httpx.get(url + "/kv-cache/metrics").json()
    assert first.usage.prompt_tokens > 1000
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert cached > 900 and cached % 16 == 0 and cached <= again.usage.prompt_tokens
    # Cold: 110 ms + ~1,000 tokens x 250 us; warm: 110 ms + a few uncached tokens.
    assert warm < cold - 0.12, (warm, cold)
    assert kv["tokens_reused"] >= 2 * cached and kv["hit_requests"] >= 2
    assert 0 < kv["cache_hit_rate"] < 1
    assert kv["blocks_used"] > 0


def test_completions_use_the_prefix_cache_too(client):
    prompt = system_prompt("legal")
    a = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt, max_tokens=3)
    b = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt + " And?", max_tokens=3)
    assert a.usage.prompt_tokens_details is None or not a.usage.prompt_tokens_details.cached_tokens
    assert b.usage.prompt_tokens_details.cached_tokens > 900


def test_requests_beyond_the_batch_queue(start_server):
    flags = ("--kv-workers", "1", "--kv-batch-size", "2", "--ttft", "150", "--itl", "0", "--jitter", "0")
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}

    async def burst(url: str) -> list[float]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            await http.post("/v1/chat/completions", json=body)  # warm-up

            async def timed() -> float:
                start = time.perf_counter()
                assert (await http.post("/v1/chat/completions", json=body)).status_code == 200
                return time.perf_counter() - start

            return sorted(await asyncio.gather(*(timed() for _ in range(6))))

    with start_server(*flags) as url:
        elapsed = asyncio.run(burst(url))
        stats = httpx.get(url + "/dynamo/metrics/json").json()
    # Two run at once: the others wait for one, then two earlier batches of 150 ms.
    assert elapsed[-1] - elapsed[0] >= 0.25, elapsed
    assert stats["queued_requests_total"] >= 3
    assert stats["latency"]["queue_seconds"]["p99"] > 0.1
    assert stats["active_requests"] == 0 and stats["queued_requests"] == 0


def test_a_client_that_leaves_frees_its_slot(start_server):
    flags = ("--kv-workers", "1", "--kv-batch-size", "1", "--ttft", "0", "--itl", "20", "--jitter", "0")
    with start_server(*flags) as url:
        port = int(url.rsplit(":", 1)[1])
        long_stream = (
            b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":500,'
            b'"ignore_eos":true,"stream":true}'
        )
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(long_stream), long_stream)
            )
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.3)  # the server notices at its next write, 20 ms later
        start = time.perf_counter()
        short = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        r = httpx.post(url + "/v1/chat/completions", json=short, timeout=15)
        elapsed = time.perf_counter() - start
        stats = httpx.get(url + "/dynamo/metrics/json").json()
    assert r.status_code == 200
    assert elapsed < 1.0  # without the release it would wait ~10 s for the 500-token stream
    assert stats["released_early"] == 1


def test_a_non_streamed_request_whose_client_leaves_is_released_at_once(start_server):
    flags = ("--kv-workers", "1", "--kv-batch-size", "1", "--ttft", "0", "--itl", "20", "--jitter", "0")
    with start_server(*flags) as url:
        port = int(url.rsplit(":", 1)[1])
        long_answer = (
            b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":1000,'
            b'"ignore_eos":true}'
        )  # 20 s of simulated decoding, answered in one body at the end
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(long_answer), long_answer)
            )
            time.sleep(0.3)
        stats = {}
        for _ in range(100):  # well before the answer's 20 s
            stats = httpx.get(url + "/dynamo/metrics/json").json()
            if stats["released_early"]:
                break
            time.sleep(0.05)
    assert stats["released_early"] == 1
    assert stats["active_requests"] == 0


def test_disaggregated_mode_routes_prefill_and_decode_to_separate_pools(start_server):
    flags = ("--kv-prefill-workers", "1", "--kv-workers", "2", "--ttft", "0", "--itl", "0")
    with start_server(*flags) as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            for question in ("A?", "B?"):
                msgs = messages("ops", question)
                r = client.chat.completions.create(model=MODEL, messages=msgs, max_tokens=3)
        kv = httpx.get(url + "/kv-cache/metrics").json()
    assert r.usage.prompt_tokens_details.cached_tokens > 900
    roles = [w["role"] for w in kv["workers"]]
    assert roles == ["prefill", "decode", "decode"]
    assert kv["workers"][0]["requests"] == 2 and kv["workers"][0]["hit_tokens"] > 900
    assert kv["workers"][1]["blocks_capacity"] == 0
