"""The observability package in-process: recording through the core, snapshot parsing, views and
both expositions, over a table in a temporary shared directory."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fakeai import _core
from fakeai.engine.usage import UsageMeter
from fakeai.observability import Metrics, ModelGauges, Snapshot, counted_gauges
from fakeai.observability.dcgm import FIELDS, GpuTelemetry, exposition
from fakeai.observability.middleware import error_kind
from fakeai.observability.prometheus import MetricsCollector
from fakeai.observability.views import summary, to_csv
from fakeai.runtime import shared
from fakeai.settings import Settings


@pytest.fixture()
def metrics(tmp_path, monkeypatch) -> Metrics:
    monkeypatch.setenv(shared.ENV, str(tmp_path))
    return Metrics(Settings(slo_latency_ms=100))


def inference(metrics: Metrics, scope: dict, model: str, prompt: int, completion: int, schedule) -> None:
    """What an inference endpoint records: usage and the inference in one core call (the meter)."""
    meter = UsageMeter(metrics).core
    scope["fakeai.model"] = meter.record("completions", model, prompt, completion, schedule)


def serve(
    metrics: Metrics,
    model: str,
    schedule,
    prompt: int = 10,
    completion: int = 5,
    seconds: float = 0.05,
    status: int = 200,
) -> dict:
    scope: dict = {}
    _core.metrics_begin(metrics.table)
    inference(metrics, scope, model, prompt, completion, schedule)
    error = (
        error_kind(status, b'{"error":{"type":"invalid_request_error","code":"x"}}')
        if status >= 400
        else None
    )
    finish(metrics, "/v1/chat/completions", status, seconds, scope.get("fakeai.model"), error)
    return scope


def finish(
    metrics: Metrics, endpoint: str, status: int, seconds: float, model: str | None, error=None
) -> None:
    _core.metrics_finish(metrics.table, endpoint, status, seconds, metrics.slo_seconds, model, error)


def test_stream_schedule_gives_ttft_and_mean_gap(metrics):
    serve(metrics, "m", [0.1, 0.11, 0.12, 0.13])
    snap = Snapshot.read(metrics.table)
    m = snap.models["m"]
    assert m.ttft.count == 1 and m.ttft.sum == pytest.approx(0.1)
    assert m.itl.sum == pytest.approx(0.01)
    assert (m.requests, m.prompt_tokens, m.completion_tokens, m.running) == (1, 10, 5, 0)


def test_whole_answer_splits_its_delay_at_its_first_token(metrics):
    serve(metrics, "m", (0.02, 0.06), completion=5)  # 20 ms TTFT, then 4 gaps of 10 ms
    m = Snapshot.read(metrics.table).models["m"]
    assert m.ttft.sum == pytest.approx(0.02) and m.itl.sum == pytest.approx(0.01)
    serve(metrics, "e", None, completion=0)  # embeddings: no token timing
    e = Snapshot.read(metrics.table).models["e"]
    assert e.ttft.count == 0 and e.prompt_tokens == 10


def test_in_flight_and_running_while_a_request_is_open(metrics):
    scope: dict = {}
    _core.metrics_begin(metrics.table)
    inference(metrics, scope, "m", 1, 1, (0.0, 0.0))
    snap = Snapshot.read(metrics.table)
    assert snap.in_flight == 1 and counted_gauges(snap) == {"m": ModelGauges(running=1)}
    finish(metrics, "/x", 200, 0.01, scope["fakeai.model"])
    snap = Snapshot.read(metrics.table)
    assert snap.in_flight == 0 and snap.models["m"].running == 0


def test_summary_errors_and_slo(metrics):
    serve(metrics, "m", (0.0, 0.0))
    serve(metrics, "m", (0.0, 0.0), seconds=0.5)  # misses the 100 ms objective
    serve(metrics, "m", (0.0, 0.0), status=400)
    snap = Snapshot.read(metrics.table)
    doc = summary(snap, counted_gauges(snap), metrics.slo_seconds, 1.0, 1)
    assert doc["requests"]["total"] == 3
    assert doc["errors"] == {
        "total": 1,
        "rate": pytest.approx(1 / 3),
        "by_type": {"invalid_request_error": 1},
    }
    assert doc["slo"]["share"] == pytest.approx(2 / 3)
    assert doc["endpoints"]["/v1/chat/completions"]["errors_by_type"] == {"invalid_request_error/x": 1}
    assert doc["models"]["m"]["error_rate"] == pytest.approx(1 / 3)
    assert to_csv(snap, {}).splitlines()[1].startswith("m,3,1,")


def test_error_kind_reads_the_envelope_or_falls_back_on_the_status():
    assert error_kind(404, b'{"error":{"type":"invalid_request_error","code":null}}') == (
        "invalid_request_error",
        "none",
    )
    assert error_kind(500, b"Internal Server Error") == ("server_error", "http_500")
    assert error_kind(413, b"") == ("invalid_request_error", "http_413")


def test_exposition_uses_the_engine_provider(metrics):
    serve(metrics, "m", [0.1, 0.2])

    def cluster(snap: Snapshot) -> dict[str, ModelGauges]:
        return {
            "m": ModelGauges(
                running=3, waiting=2, kv_cache_usage=0.25, prefix_cache_hits=7, prefix_cache_queries=10
            )
        }

    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        MetricsCollector(lambda: (Snapshot.read(metrics.table), cluster(None)), 0.1, lambda: 1.0, list)
    )
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    sample = {
        f: families[f].samples[0].value
        for f in (
            "vllm:num_requests_running",
            "vllm:num_requests_waiting",
            "vllm:kv_cache_usage_perc",
            "vllm:prefix_cache_hits",
            "vllm:prefix_cache_queries",
        )
    }
    assert sample == {
        "vllm:num_requests_running": 3,
        "vllm:num_requests_waiting": 2,
        "vllm:kv_cache_usage_perc": 0.25,
        "vllm:prefix_cache_hits": 7,
        "vllm:prefix_cache_queries": 10,
    }
    assert families["vllm:prefix_cache_hits"].samples[0].labels == {"model_name": "m"}


def test_quantiles_come_from_the_core(metrics):
    for seconds in (0.015,) * 99 + (3.0,):
        metrics.table.observe("latency|/x", seconds)
    h = Snapshot.read(metrics.table).endpoints["/x"].latency
    assert 0.01 <= h.quantile(0.5) <= 0.02 and h.quantile(0.999) > 2.5
    assert _core.histogram_quantile(h.buckets, 0.5) == h.quantile(0.5)
    assert h.cumulative()[-1] == 100


def test_dcgm_exposition_lists_every_field_for_every_gpu(metrics):
    gpus = GpuTelemetry("B200", 3).read(Snapshot.read(metrics.table), uptime=10.0)
    text = exposition(gpus).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {name for name, _, _ in FIELDS}
    assert all(len(f.samples) == 3 for f in families.values())
    energy = families["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"].samples[0].value
    assert energy == pytest.approx(120.0 * 10 * 1000)  # idle watts x seconds, in mJ
    assert families["DCGM_FI_DEV_GPU_UTIL"].samples[0].value == 0


def test_an_access_log_line_stays_one_line_whatever_the_client_sent() -> None:
    """A model id or a percent-decoded path with a newline cannot forge a second log line."""
    from fakeai.http.asgi import REQUESTED_MODEL
    from fakeai.observability.access_log import line

    scope = {
        "client": ("127.0.0.1", 5),
        "method": "POST",
        "path": "/v1/x\n127.0.0.1:1 - forged",
        "query_string": b"",
        REQUESTED_MODEL: 'gpt-4o\n127.0.0.1:1 - "GET / HTTP/1.1" 200 0.1ms forged',
    }
    text = line(scope, 400, 0.001)
    assert "\n" not in text
    assert text.startswith('127.0.0.1:5 - "POST /v1/x\\n127.0.0.1:1 - forged HTTP/1.1" 400 1.0ms ')
    scope[REQUESTED_MODEL] = "my model"
    assert line(scope, 400, 0.001).endswith(" 'my model'")
    scope[REQUESTED_MODEL] = "gpt-4o"
    assert line(scope, 200, 0.001).endswith(" 200 1.0ms gpt-4o")


def test_an_access_log_line_escapes_quotes_that_would_forge_its_status() -> None:
    from fakeai.observability.access_log import line

    scope = {"client": ("127.0.0.1", 5), "method": "GET", "path": '/v1/models/x" 200 1.0ms gpt-4o "'}
    text = line(scope, 404, 0.001)
    assert text == '127.0.0.1:5 - "GET /v1/models/x\\" 200 1.0ms gpt-4o \\" HTTP/1.1" 404 1.0ms -', text
