"""The engine model in the live server: one engine shared by every worker process, timing that follows
it, clients that leave, a full waiting queue, and fixed timing on request."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def engine_metrics(url: str) -> dict[str, float]:
    """The ``vllm:*`` samples of MODEL (histogram buckets keyed by their ``le``)."""
    text = httpx.get(url + "/metrics/prometheus").text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("model_name") == MODEL:
                le = s.labels.get("le")
                values[s.name + (f"|{le}" if le else "")] = s.value
    return values


def body(i: int, stream: bool = True) -> dict:
    # Prompts differ from their first token, so no prefix-cache hit depends on which worker answers.
    text = f"{i} request of the engine test, number {i}"
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], "stream": stream}


async def stream(http: httpx.AsyncClient, i: int, tokens: int, started: asyncio.Event | None = None) -> dict:
    """Stream one chat; returns its usage and its time to the first chunk."""
    payload = {**body(i), "stream_options": {"include_usage": True}}
    begin = time.perf_counter()
    first = None
    usage = None
    headers = {"x-fakeai-output-tokens": str(tokens)}
    async with http.stream("POST", "/v1/chat/completions", json=payload, headers=headers) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if not line.startswith("data: {"):
                continue
            if first is None:
                first = time.perf_counter() - begin
                if started is not None:
                    started.set()
            if '"usage":{' in line:
                usage = json.loads(line[6:])["usage"]
    return {"ttft": first, "usage": usage}


def load_and_watch(url: str, streams: int, tokens: int) -> tuple[list[dict], list[float]]:
    """Run ``streams`` concurrent streams; while all run, scrape running + waiting five times."""

    async def scenario() -> tuple[list[dict], list[float]]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            events = [asyncio.Event() for _ in range(streams)]
            tasks = [asyncio.create_task(stream(http, i, tokens, events[i])) for i in range(streams)]
            await asyncio.gather(*(e.wait() for e in events))
            seen = []
            for _ in range(5):
                m = await asyncio.to_thread(engine_metrics, url)
                seen.append(m["vllm:num_requests_running"] + m["vllm:num_requests_waiting"])
            return await asyncio.gather(*tasks), seen

    return asyncio.run(scenario())


def test_two_workers_share_one_engine_and_agree_with_one(start_server):
    figures = {}
    for workers in ("1", "2"):
        with start_server("--workers", workers) as url:
            results, seen = load_and_watch(url, 6, 400)
            after = engine_metrics(url)
        # Every scrape, whichever worker answered, sees all six sequences in the one engine.
        assert seen == [6.0] * 5, (workers, seen)
        expected = sum(r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] - 1 for r in results)
        figures[workers] = (
            after["vllm:iteration_tokens_total_sum"],
            after["vllm:num_preemptions_total"],
            after["vllm:num_requests_running"],
            after["vllm:kv_cache_usage_perc"],
        )
        # Each step's tokens are counted once: every prompt token and every output token after the first.
        assert figures[workers][0] == expected, (workers, figures)
    assert figures["1"] == figures["2"], figures
    assert figures["1"][1:] == (0.0, 0.0, 0.0)


def test_time_to_first_token_grows_with_concurrency(start_server):
    with start_server() as url:
        alone = [asyncio.run(_one(url, i)) for i in range(3)]

        async def crowd() -> list[dict]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:

                async def one(i: int) -> float:
                    # Distinct from the first token: no prefix-cache hit shortens a prefill.
                    messages = [{"role": "user", "content": f"{i} " + "word " * 1500}]
                    payload = {"model": MODEL, "messages": messages, "max_tokens": 4}
                    begin = time.perf_counter()
                    r = await http.post("/v1/chat/completions", json=payload)
                    assert r.status_code == 200
                    return time.perf_counter() - begin

                return await asyncio.gather(*(one(i) for i in range(48)))

        crowded = asyncio.run(crowd())
    # 48 prompts of ~1,500 tokens share an 8,192-token step budget: most wait several prefill steps.
    assert sorted(crowded)[len(crowded) // 2] > 3 * min(alone), (min(alone), sorted(crowded))


def test_the_ttft_metric_counts_what_the_clients_saw(start_server, tmp_path):
    """A crowd of long prompts arriving together: each request's first token comes later than its
    forecast (made before the others arrived, when its step held fewer prompt tokens), and the TTFT
    histograms (vLLM's and the Dynamo view's) count the settled time, which is what the offline
    engine gives for the same arrivals, not the forecast (about 15 % lower here)."""
    with start_server("--workers", "2") as url:
        before = engine_metrics(url)
        dynamo_before = dynamo_ttft(url)

        async def crowd() -> list[tuple[float, int]]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:

                async def one(i: int) -> tuple[float, int]:
                    payload = {**body(i), "stream_options": {"include_usage": True}}
                    payload["messages"] = [{"role": "user", "content": f"{i} " + "word " * 1500}]
                    begin = time.perf_counter()
                    first, prompt = None, 0
                    headers = {"x-fakeai-output-tokens": "4"}
                    async with http.stream(
                        "POST", "/v1/chat/completions", json=payload, headers=headers
                    ) as r:
                        async for line in r.aiter_lines():
                            if first is None and line.startswith("data: {"):
                                first = time.perf_counter() - begin
                            if '"usage":{' in line:
                                prompt = json.loads(line[6:])["usage"]["prompt_tokens"]
                    return first, prompt

                return await asyncio.gather(*(one(i) for i in range(24)))

        seen = asyncio.run(crowd())
        after = engine_metrics(url)
        dynamo_after = dynamo_ttft(url)
    name = "vllm:time_to_first_token_seconds"
    count = after[name + "_count"] - before.get(name + "_count", 0.0)
    mean = (after[name + "_sum"] - before.get(name + "_sum", 0.0)) / count
    client = sum(first for first, _ in seen) / len(seen)
    assert count == 24
    # The server's TTFT starts when the engine has the request, so the clients' own trip (and on a
    # busy machine their event loop's lateness) comes on top of it, never off it.
    assert mean <= client, (mean, client)
    trace = tmp_path / "crowd.jsonl"
    lines = [{"timestamp": 0, "input_length": prompt, "output_length": 4} for _, prompt in seen]
    trace.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    r = run_fakeai("simulate", "--model", MODEL, "--trace", str(trace), "--format", "json")
    assert r.returncode == 0, r.stderr
    offline = json.loads(r.stdout)[0]["ttft_ms"]["mean"] / 1000
    assert offline > 0.1, "24 prompts of ~1,500 tokens wait several prefill steps"
    assert mean == pytest.approx(offline, rel=0.05), (mean, offline)
    dynamo_count = dynamo_after[0] - dynamo_before[0]
    dynamo_mean = (dynamo_after[1] - dynamo_before[1]) / dynamo_count
    assert dynamo_count == 24
    assert dynamo_mean == pytest.approx(mean, rel=1e-3), (dynamo_mean, mean)


def dynamo_ttft(url: str) -> tuple[int, float]:
    """The Dynamo view's TTFT histogram: ``(count, sum of seconds)``."""
    ttft = httpx.get(url + "/dynamo/metrics/json").json()["latency"]["ttft_seconds"]
    return ttft["count"], ttft["count"] * ttft["mean"]


async def _one(url: str, i: int) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return (await stream(http, 1000 + i, 8))["ttft"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_client_that_leaves_frees_its_sequence_and_a_full_queue_refuses(start_server, workers):
    """The waiting request runs as soon as the stream's client leaves, not when the stream would have
    ended (the engine had said its tokens come after the stream's 3,000; a cancellation, on any
    worker, makes its waiters ask again)."""
    flags = ("--max-num-seqs", "1", "--max-waiting-queue-length", "1", "--workers", workers)
    with start_server(*flags) as url:

        async def scenario() -> tuple[float, int, dict, float, float]:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                headers = {"x-fakeai-output-tokens": "3000"}
                short = {"x-fakeai-output-tokens": "20"}
                async with http.stream("POST", "/v1/chat/completions", json=body(1), headers=headers) as r:
                    lines = r.aiter_lines()
                    await anext(lines)
                    waiting = asyncio.create_task(
                        http.post("/v1/chat/completions", json=body(2, False), headers=short)
                    )
                    await asyncio.sleep(0.2)
                    refused = await http.post("/v1/chat/completions", json=body(3, False))
                    busy = await asyncio.to_thread(engine_metrics, url)
                    await lines.aclose()  # the client leaves (its connection closes)
                left = time.perf_counter()
                # The stream's client left: its sequence is freed and the waiting request runs.
                await waiting
                after = time.perf_counter() - left
                await asyncio.sleep(0.1)
                idle = await asyncio.to_thread(engine_metrics, url)
                return (
                    busy["vllm:num_requests_running"],
                    refused.status_code,
                    refused.json(),
                    idle["vllm:num_requests_running"] + idle["vllm:num_requests_waiting"],
                    after,
                )

        busy, status, error, idle, after = asyncio.run(scenario())
    assert busy == 1.0
    assert status == 503 and error["error"]["code"] == "overloaded", error
    assert set(error["error"]) == {"message", "type", "param", "code"}
    assert idle == 0.0
    # 20 tokens after a prefill: well under a second on the engine; the stream had 20 s to go
    assert after < 5.0, after


def test_fixed_timing_headers_and_unknown_architectures_bypass_the_engine(start_server):
    with start_server() as url, httpx.Client(base_url=url, timeout=30) as http:
        fixed = {"x-fakeai-ttft-ms": "0", "x-fakeai-itl-ms": "0"}
        r = http.post("/v1/chat/completions", json=body(1, False), headers=fixed)
        assert r.status_code == 200
        r = http.post("/v1/chat/completions", json={**body(2, False), "model": "gpt-4o"}, headers=fixed)
        assert r.status_code == 200
        # Neither reached the engine: it has scheduled nothing.
        assert engine_metrics(url).get("vllm:iteration_tokens_total_count", 0.0) == 0.0
        r = http.post("/v1/chat/completions", json={**body(3, False), "max_tokens": 2})
        assert r.status_code == 200
        assert engine_metrics(url)["vllm:iteration_tokens_total_count"] >= 2


def test_anthropic_messages_run_on_the_engine_and_are_metered(start_server):
    """A Messages request takes the same engine, usage and metrics as a chat completion, on the Rust
    path (plain) and the Python route (with tools) alike."""
    version = {"anthropic-version": "2023-06-01"}
    tool = {
        "name": "get_weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    with start_server("--workers", "2") as url, httpx.Client(base_url=url, timeout=30) as http:
        since = int(time.time()) - 1
        served = [0, 0, 0]
        for i, extra in enumerate(
            [{}, {"stream": True}, {"tools": [tool]}, {"tools": [tool], "stream": True}]
        ):
            text = f"{i} anthropic request of the engine test, number {i}"
            payload = {
                "model": MODEL,
                "max_tokens": 4,
                "messages": [{"role": "user", "content": text}],
                **extra,
            }
            with http.stream("POST", "/v1/messages", json=payload, headers=version) as r:
                assert r.status_code == 200
                raw = r.read()
            if extra.get("stream"):
                events = [
                    json.loads(line[6:]) for line in raw.decode().splitlines() if line.startswith("data: ")
                ]
                usage = {**events[0]["message"]["usage"], **events[-2]["usage"]}
            else:
                usage = json.loads(raw)["usage"]
            served[0] += usage["input_tokens"]
            served[1] += usage["output_tokens"]
            served[2] += 1
        engine = engine_metrics(url)
        assert engine["vllm:prompt_tokens_total"] == served[0]
        assert engine["vllm:generation_tokens_total"] == served[1]
        assert engine["vllm:request_success_total"] == 4
        page = http.get(
            "/v1/organization/usage/completions", params={"start_time": since, "group_by": "model"}
        )
        results = [r for b in page.json()["data"] for r in b["results"] if r["model"] == MODEL]
        totals = [sum(r[k] for r in results) for k in ("input_tokens", "output_tokens", "num_model_requests")]
        assert totals == served
        assert http.get("/metrics").json()["models"][MODEL]["requests"] == 4
