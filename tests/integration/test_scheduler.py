"""vLLM's scheduler limits: ``--max-num-seqs``, ``--max-waiting-queue-length``,
``--time-factor-under-load``; the prefill knobs' bad values."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeai.runtime.process import run_fakeai

pytestmark = pytest.mark.integration

MODEL = "m"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "count"}], "stream": True}


def gauges(url: str) -> tuple[float, float]:
    text = httpx.get(url + "/metrics/prometheus").text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.labels.get("model_name") == MODEL:
                values[s.name] = s.value
    return values["vllm:num_requests_running"], values["vllm:num_requests_waiting"]


async def stream_seconds(http: httpx.AsyncClient, tokens: int) -> float:
    start = time.perf_counter()
    headers = {"x-fakeai-output-tokens": str(tokens)}
    async with http.stream("POST", "/v1/chat/completions", json=BODY, headers=headers) as r:
        assert r.status_code == 200
        async for _ in r.aiter_bytes():
            pass
    return time.perf_counter() - start


def test_running_and_waiting_follow_the_limits_and_a_full_queue_refuses(start_server):
    flags = ("--ttft", "0", "--itl", "100", "--jitter", "0", "--max-num-seqs", "2")
    with start_server(*flags, "--max-waiting-queue-length", "1") as url:

        async def scenario() -> tuple[tuple[float, float], openai.APIStatusError]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                streams = [asyncio.create_task(stream_seconds(http, 15)) for _ in range(3)]
                await asyncio.sleep(0.4)
                seen = await asyncio.to_thread(gauges, url)
                with (
                    openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as sdk,
                    pytest.raises(openai.APIStatusError) as refused,
                ):
                    msgs = [{"role": "user", "content": "x"}]
                    await asyncio.to_thread(sdk.chat.completions.create, model=MODEL, messages=msgs)
                await asyncio.gather(*streams)
                return seen, refused.value

        seen, refused = asyncio.run(scenario())
        after = gauges(url)
    assert seen == (2.0, 1.0)
    assert refused.status_code == 503
    error = refused.body
    assert error["code"] == "overloaded" and error["type"] == "server_error"
    assert "--max-waiting-queue-length 1" in error["message"]
    assert after == (0.0, 0.0)


def test_time_factor_under_load_slows_tokens_as_the_batch_fills(start_server):
    flags = ("--ttft", "0", "--itl", "20", "--jitter", "0", "--max-num-seqs", "4")
    with start_server(*flags, "--time-factor-under-load", "4") as url:

        async def scenario() -> tuple[float, float]:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                alone = await stream_seconds(http, 20)  # 1 of 4 running: x1.75
                together = await asyncio.gather(*(stream_seconds(http, 20) for _ in range(4)))
                return alone, max(together)  # the last to arrive runs at x4

        alone, loaded = asyncio.run(scenario())
    # About 0.67 s alone against 1.5 s for the request arriving at a full batch.
    assert loaded > 1.6 * alone, (alone, loaded)


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--max-num-seqs", "-1"], "--max-num-seqs"),
        (["--max-waiting-queue-length", "-2"], "--max-waiting-queue-length"),
        (["--time-factor-under-load", "0.5", "--max-num-seqs", "4"], "--time-factor-under-load"),
        (["--time-factor-under-load", "2"], "needs --max-num-seqs"),
        (["--prefill-overhead-ms", "-1"], "--prefill-overhead-ms"),
        (["--prefill-time-per-token-us", "x"], "--prefill-time-per-token-us"),
    ],
)
def test_bad_scheduler_flags_are_clear_startup_errors(flags, needle):
    r = run_fakeai("server", *flags)
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr
