"""Recording metrics: the Rust shared-memory table against prometheus-client's own metrics.

    pytest benches/test_metrics.py --benchmark-enable --benchmark-group-by=group

``counter+histogram``: one labelled counter increment and one labelled histogram observation.
``request``: everything one chat request records (in-flight up and down, model label, tokens, TTFT,
ITL, status, latency, SLO) through the three core calls, against the same set of prometheus-client
metrics. The Rust path is shared by every worker process; prometheus-client's is per process.
Each benchmark checks the counts it produced.
"""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fakeai import _core

BUCKETS = list(_core.HISTOGRAM_BOUNDS)
ENDPOINT = "/v1/chat/completions"


@pytest.fixture()
def table(tmp_path):
    return _core.SharedTable(str(tmp_path / "bench.table"), 4096, _core.HISTOGRAM_WIDTH)


@pytest.fixture()
def registry():
    return CollectorRegistry(auto_describe=False)


@pytest.mark.benchmark(group="counter+histogram")
def test_counter_and_histogram_rust_shared_memory(benchmark, table):
    def record() -> None:
        table.add("status|/v1/chat/completions|200", 0, 1)
        table.observe("latency|/v1/chat/completions", 0.042)

    benchmark(record)
    runs = table.get("status|/v1/chat/completions|200")[0]
    assert runs > 0 and table.histogram("latency|/v1/chat/completions")[0] == runs


@pytest.mark.benchmark(group="counter+histogram")
def test_counter_and_histogram_prometheus_client(benchmark, registry):
    requests = Counter("requests", "r", ["endpoint", "status"], registry=registry)
    latency = Histogram("latency_seconds", "l", ["endpoint"], buckets=BUCKETS, registry=registry)

    def record() -> None:
        requests.labels(ENDPOINT, "200").inc()
        latency.labels(ENDPOINT).observe(0.042)

    benchmark(record)
    runs = registry.get_sample_value("requests_total", {"endpoint": ENDPOINT, "status": "200"})
    assert runs > 0 and registry.get_sample_value("latency_seconds_count", {"endpoint": ENDPOINT}) == runs


@pytest.mark.benchmark(group="request")
def test_request_recording_rust_shared_memory(benchmark, table):
    def record() -> None:
        _core.metrics_begin(table)
        label = _core.metrics_inference(table, "gpt-4o", 100, 40, 16, 0.095, 0.02)
        _core.metrics_finish(table, ENDPOINT, 200, 0.1, 1.0, label, None)

    benchmark(record)
    runs = table.get("model|gpt-4o")[0]
    assert runs > 0 and table.get("model|gpt-4o")[3] == 16 * runs and table.get("server")[0] == 0


@pytest.mark.benchmark(group="request")
def test_request_recording_prometheus_client(benchmark, registry):
    in_flight = Gauge("in_flight", "f", registry=registry)
    running = Gauge("running", "r", ["model"], registry=registry)
    prompt = Counter("prompt_tokens", "p", ["model"], registry=registry)
    completion = Counter("completion_tokens", "c", ["model"], registry=registry)
    ttft = Histogram("ttft_seconds", "t", ["model"], buckets=BUCKETS, registry=registry)
    itl = Histogram("itl_seconds", "i", ["model"], buckets=BUCKETS, registry=registry)
    status = Counter("requests", "s", ["endpoint", "status"], registry=registry)
    latency = Histogram("latency_seconds", "l", ["endpoint"], buckets=BUCKETS, registry=registry)
    slo = Counter("slo", "s", ["endpoint"], registry=registry)
    model_requests = Counter("model_requests", "m", ["model"], registry=registry)
    e2e = Histogram("e2e_seconds", "e", ["model"], buckets=BUCKETS, registry=registry)

    def record() -> None:
        in_flight.inc()
        running.labels("gpt-4o").inc()
        prompt.labels("gpt-4o").inc(40)
        completion.labels("gpt-4o").inc(16)
        ttft.labels("gpt-4o").observe(0.02)
        itl.labels("gpt-4o").observe(0.005)
        in_flight.dec()
        status.labels(ENDPOINT, "200").inc()
        latency.labels(ENDPOINT).observe(0.1)
        slo.labels(ENDPOINT).inc()
        running.labels("gpt-4o").dec()
        model_requests.labels("gpt-4o").inc()
        e2e.labels("gpt-4o").observe(0.1)

    benchmark(record)
    runs = registry.get_sample_value("model_requests_total", {"model": "gpt-4o"})
    assert runs > 0 and registry.get_sample_value("completion_tokens_total", {"model": "gpt-4o"}) == 16 * runs
