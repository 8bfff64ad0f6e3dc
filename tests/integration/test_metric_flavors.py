"""``--metrics-flavor``: each engine's names in ``/metrics/prometheus``, parsed with prometheus_client's
parser, their gauges moving under load."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
PROMPT = "Explain how continuous batching keeps every GPU of a deployment busy, in some detail. " * 8
#: Each flavour's families (name as the parser gives it, without ``_total``) and their types.
EXPECTED = {
    "vllm": {
        "vllm:num_requests_running": "gauge",
        "vllm:num_requests_waiting": "gauge",
        "vllm:kv_cache_usage_perc": "gauge",
        "vllm:prompt_tokens": "counter",
        "vllm:generation_tokens": "counter",
        "vllm:time_to_first_token_seconds": "histogram",
        "vllm:e2e_request_latency_seconds": "histogram",
    },
    "sglang": {
        "sglang:num_running_reqs": "gauge",
        "sglang:num_queue_reqs": "gauge",
        "sglang:token_usage": "gauge",
        "sglang:cache_hit_rate": "gauge",
        "sglang:gen_throughput": "gauge",
        "sglang:prompt_tokens": "counter",
        "sglang:generation_tokens": "counter",
        "sglang:num_requests": "counter",
        "sglang:time_to_first_token_seconds": "histogram",
        "sglang:inter_token_latency_seconds": "histogram",
        "sglang:e2e_request_latency_seconds": "histogram",
    },
    "trtllm": {
        "trtllm_request_success": "counter",
        "trtllm_e2e_request_latency_seconds": "histogram",
        "trtllm_time_to_first_token_seconds": "histogram",
        "trtllm_time_per_output_token_seconds": "histogram",
        "trtllm_kv_cache_utilization": "gauge",
        "trtllm_kv_cache_hit_rate": "gauge",
    },
}
#: The gauge of each flavour that counts requests running now, and a gauge of the KV cache.
RUNNING = {"vllm": "vllm:num_requests_running", "sglang": "sglang:num_running_reqs"}
CACHE = {
    "vllm": "vllm:kv_cache_usage_perc",
    "sglang": "sglang:token_usage",
    "trtllm": "trtllm_kv_cache_utilization",
}


def _scrape(url: str) -> dict[str, tuple[str, dict[tuple, float]]]:
    text = httpx.get(url + "/metrics/prometheus").text
    return {
        f.name: (f.type, {tuple(sorted(s.labels.items())) + (s.name,): s.value for s in f.samples})
        for f in text_string_to_metric_families(text)
    }


def _value(families: dict, name: str, suffix: str = "") -> float:
    _, samples = families[name]
    return sum(v for k, v in samples.items() if k[-1] == name + suffix)


def _load(url: str, n: int) -> list[threading.Thread]:
    def one() -> None:
        body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 30}
        headers = {"x-fakeai-itl-ms": "60", "x-fakeai-ttft-ms": "50"}
        httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=30)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


@pytest.mark.parametrize("flavor", ["vllm", "sglang", "trtllm", "all"])
def test_each_flavor_exposes_its_engines_names_and_its_gauges_move(start_server, flavor):
    engines = list(EXPECTED) if flavor == "all" else [flavor]
    with start_server("--ttft", "0", "--itl", "0", "--metrics-flavor", flavor) as url:
        idle = _scrape(url)
        assert "fakeai_requests" in idle
        for engine in EXPECTED:
            present = [name for name in EXPECTED[engine] if name in idle]
            assert present == ([] if engine not in engines else present)
        threads = _load(url, 6)
        peak: dict[str, float] = {}
        while any(t.is_alive() for t in threads):  # the load lasts about 2 s: scrape it as it runs
            busy = _scrape(url)
            for name in (*RUNNING.values(), "sglang:gen_throughput"):
                if name in busy:
                    peak[name] = max(peak.get(name, 0.0), _value(busy, name))
            time.sleep(0.05)
        for t in threads:
            t.join()
        done = _scrape(url)
    for engine in engines:
        for name, kind in EXPECTED[engine].items():
            assert done[name][0] == kind, name
        if engine in RUNNING:
            assert _value(idle, RUNNING[engine]) == 0 and peak[RUNNING[engine]] > 0
            assert _value(done, RUNNING[engine]) == 0
        assert _value(idle, CACHE[engine]) == 0 < _value(done, CACHE[engine])
    if "sglang" in engines:
        assert _value(done, "sglang:generation_tokens", "_total") == 6 * 30
        assert _value(idle, "sglang:gen_throughput") == 0 < peak["sglang:gen_throughput"]
        assert _value(done, "sglang:time_to_first_token_seconds", "_count") == 6
    if "trtllm" in engines:
        (labels,) = [k for k in done["trtllm_request_success"][1] if k[-1] == "trtllm_request_success_total"]
        assert dict(labels[:-1]) == {"model_name": MODEL, "engine_type": "trtllm", "finished_reason": "stop"}
        assert _value(done, "trtllm_request_success", "_total") == 6
