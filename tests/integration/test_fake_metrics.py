"""``--fake-metrics``: the vLLM metrics report exactly the scripted figures, and the engine gauges come
from the simulated cluster otherwise."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fakeai import _core
from fakeai.runtime.process import ServerFailed

pytestmark = pytest.mark.integration

FAKE = {
    "running-requests": 10,
    "waiting-requests": 30,
    "kv-cache-usage": 0.4,
    "loras": [{"running": "lora1,lora2", "waiting": "lora3", "timestamp": 1700000000}],
    "ttft-buckets-values": [0, 0, 5, 10],
}


def samples(url: str) -> dict[str, list]:
    text = httpx.get(url + "/metrics/prometheus").text
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def test_fixed_figures_are_reported_exactly(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--fake-metrics", json.dumps(FAKE)) as url:
        httpx.post(
            url + "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
        )
        got = samples(url)
    assert [s.value for s in got["vllm:num_requests_running"]] == [10]
    assert [s.value for s in got["vllm:num_requests_waiting"]] == [30]
    assert [s.value for s in got["vllm:kv_cache_usage_perc"]] == [0.4]
    (info,) = got["vllm:lora_requests_info"]
    assert info.labels["running_lora_adapters"] == "lora1,lora2" and info.value == 1700000000
    buckets = [s for s in got["vllm:time_to_first_token_seconds_bucket"] if s.labels["model_name"] == "m"]
    bounds = [str(b) for b in _core.HISTOGRAM_BOUNDS]
    assert buckets[2].labels["le"] == bounds[2] and buckets[2].value == 5 and buckets[3].value == 15
    assert buckets[-1].value == 15


def test_the_cluster_feeds_prefix_cache_counters_without_fake_metrics(start_server):
    system = {"role": "system", "content": " ".join(["policy"] * 400)}
    body = {"model": "m", "messages": [system, {"role": "user", "content": "hi"}], "max_tokens": 2}
    with start_server("--ttft", "0", "--itl", "0") as url:
        for _ in range(2):
            httpx.post(url + "/v1/chat/completions", json=body)
        got = samples(url)
    hits = sum(s.value for s in got["vllm:prefix_cache_hits_total"])
    queries = sum(s.value for s in got["vllm:prefix_cache_queries_total"])
    assert queries >= 800 and hits >= 384  # the second request found the system prompt cached


@pytest.mark.parametrize(
    "spec, needle",
    [
        ('{"running-requests": -1}', "running-requests"),
        ('{"bogus": 1}', "bogus"),
        ("[1]", "JSON object"),
        ('{"kv-cache-usage": 2}', "kv-cache-usage"),
    ],
)
def test_bad_specs_stop_the_server_with_a_clear_message(start_server, spec, needle):
    with pytest.raises(ServerFailed, match=needle), start_server("--fake-metrics", spec):
        pass
