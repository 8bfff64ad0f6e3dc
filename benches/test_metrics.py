"""Recording metrics: the Rust shared-memory table against prometheus-client's own metrics.

    pytest benches/test_metrics.py --benchmark-enable --benchmark-group-by=group

``counter+histogram``: one labelled counter increment and one labelled histogram observation.
``chat app x100``: 100 chat requests through the whole ASGI app (no network), recording on vs off.
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
@pytest.mark.reference
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
        label = _core.metrics_inference(table, "gpt-4o", 100, 40, 16, (0.02, 0.095))
        _core.metrics_finish(table, ENDPOINT, 200, 0.1, 1.0, label, None)

    benchmark(record)
    runs = table.get("model|gpt-4o")[0]
    assert runs > 0 and table.get("model|gpt-4o")[3] == 16 * runs and table.get("server")[0] == 0


@pytest.mark.benchmark(group="request")
@pytest.mark.reference
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


# --- one chat request through the whole ASGI app, metrics recording on vs off --------------------
CHAT_BODY = (
    b'{"model":"gpt-4o","messages":[{"role":"user","content":"Summarise the trade-offs between latency and '
    b'throughput when batching requests on an inference server."}],"max_tokens":16}'
)
SCOPE = {
    "type": "http",
    "method": "POST",
    "path": ENDPOINT,
    "raw_path": ENDPOINT.encode(),
    "root_path": "",
    "query_string": b"",
    "headers": [(b"content-type", b"application/json")],
    "http_version": "1.1",
    "scheme": "http",
    "server": ("127.0.0.1", 80),
    "client": ("127.0.0.1", 1),
}


def _serve_chat(mode: str, tmp_path, monkeypatch, benchmark) -> list[int]:
    """Benchmark one chat request through ``create_app`` (no network); returns the statuses sent."""
    import asyncio

    from fakeai.app import create_app
    from fakeai.runtime import shared
    from fakeai.settings import Settings

    monkeypatch.setenv(shared.ENV, str(tmp_path))
    app = create_app(Settings(ttft_ms=0, itl_ms=0, metrics=mode))
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": CHAT_BODY, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def requests(n: int) -> None:
        for _ in range(n):
            await app(dict(SCOPE), receive, send)

    loop = asyncio.new_event_loop()
    try:
        # 150 rounds: with 30, an unchanged build's median moved by up to 20 % from one run to the next.
        benchmark.pedantic(lambda: loop.run_until_complete(requests(100)), rounds=150, warmup_rounds=5)
    finally:
        loop.close()
    return statuses


@pytest.mark.benchmark(group="chat app x100")
def test_chat_app_metrics_off(benchmark, tmp_path, monkeypatch):
    statuses = _serve_chat("off", tmp_path, monkeypatch, benchmark)
    assert statuses and set(statuses) == {200}


@pytest.mark.benchmark(group="chat app x100")
def test_chat_app_metrics_on(benchmark, tmp_path, monkeypatch):
    statuses = _serve_chat("on", tmp_path, monkeypatch, benchmark)
    table = _core.SharedTable(str(tmp_path / "metrics.table"), 8192, _core.HISTOGRAM_WIDTH)
    assert set(statuses) == {200} and table.get("status|/v1/chat/completions|200")[0] == len(statuses)
