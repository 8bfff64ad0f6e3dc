"""``/kv-cache/metrics``, ``/dynamo/metrics`` (Prometheus text) and ``/dynamo/metrics/json``."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi " * 40}], "max_tokens": 5}


def families(http) -> dict[str, object]:
    r = http.get("/dynamo/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def sample(fams, family: str, suffix: str = "", **labels) -> float:
    for s in fams[family].samples:
        if s.name == family + suffix and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError((family, suffix, labels))


def test_prometheus_text_parses_and_counts_requests(http):
    before = families(http)
    for _ in range(3):
        assert http.post("/v1/chat/completions", json=CHAT).status_code == 200
    after = families(http)

    def grew(family: str, suffix: str) -> float:
        return sample(after, family, suffix) - sample(before, family, suffix)

    assert grew("dynamo_requests", "_total") == 3
    assert grew("dynamo_output_tokens", "_total") >= 3
    assert grew("dynamo_ttft_seconds", "_count") == 3
    assert grew("dynamo_kv_hit_tokens", "_total") > 0
    e2e = "dynamo_e2e_seconds"
    assert sample(after, e2e, "_bucket", le="+Inf") == sample(after, e2e, "_count")
    workers = [s for s in after["dynamo_worker_kv_blocks_capacity"].samples]
    assert len(workers) == 4 and all(s.value == 16384 for s in workers)
    assert sum(s.value for s in after["dynamo_worker_requests"].samples) >= 3


def test_json_views_move_with_traffic(http):
    before = http.get("/dynamo/metrics/json").json()
    kv_before = http.get("/kv-cache/metrics").json()
    for _ in range(2):
        http.post("/v1/chat/completions", json=CHAT)
    after = http.get("/dynamo/metrics/json").json()
    kv = http.get("/kv-cache/metrics").json()
    assert after["requests"] == before["requests"] + 2
    assert after["latency"]["ttft_seconds"]["count"] == before["latency"]["ttft_seconds"]["count"] + 2
    phases = ("queue", "prefill", "ttft", "itl", "tpot", "decode", "e2e")
    assert set(after["latency"]) == {f"{n}_seconds" for n in phases}
    assert {w["role"] for w in after["workers"]} == {"aggregated"}
    assert len(after["workers"]) == 4 and {"active", "queued", "blocks_used"} <= set(after["workers"][0])
    assert kv["query_tokens"] > kv_before["query_tokens"]
    assert kv["tokens_reused"] > kv_before["tokens_reused"]
    assert 0 <= kv["cache_hit_rate"] <= 1 and kv["block_size"] == 16


@pytest.mark.parametrize("path", ["/kv-cache/metrics", "/dynamo/metrics", "/dynamo/metrics/json"])
def test_wrong_method_is_405_with_the_envelope(http, path):
    r = http.post(path, json={})
    assert r.status_code == 405
    assert "error" in r.json()
