"""TensorRT-LLM's ``trtllm-serve`` metric names (``trtllm_*``; ``tensorrt_llm/metrics/collector.py``,
TensorRT-LLM 1.0/1.1, served by ``trtllm-serve`` at ``/prometheus/metrics``), labels ``model_name``
and ``engine_type`` (``trtllm``), fed by the simulated engine:

- ``trtllm_request_success_total`` (label ``finished_reason``: fakeai counts every successful request
  as ``stop``, it does not keep finish reasons per model);
- histograms ``trtllm_e2e_request_latency_seconds``, ``trtllm_time_to_first_token_seconds``,
  ``trtllm_time_per_output_token_seconds``;
- gauges ``trtllm_kv_cache_utilization`` (KV-cache usage, 0..1) and ``trtllm_kv_cache_hit_rate``
  (prefix-cache hit tokens / queried tokens).

``trtllm_request_queue_time_seconds`` is not exposed: fakeai measures queueing for the whole simulated
cluster, not per model.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from fakeai.observability.flavors import Reading
from fakeai.observability.prometheus import add_histogram

ENGINE_TYPE = "trtllm"
LABELS = ["model_name", "engine_type"]
HISTOGRAMS = {
    "trtllm_e2e_request_latency_seconds": ("Histogram of end to end request latency in seconds.", "e2e"),
    "trtllm_time_to_first_token_seconds": ("Histogram of time to first token in seconds.", "ttft"),
    "trtllm_time_per_output_token_seconds": ("Histogram of time per output token in seconds.", "itl"),
}


def families(r: Reading) -> Iterator[Metric]:
    success = CounterMetricFamily(
        "trtllm_request_success",
        "Count of successfully processed requests.",
        labels=[*LABELS, "finished_reason"],
    )
    for name, m in sorted(r.snap.models.items()):
        success.add_metric([name, ENGINE_TYPE, "stop"], m.requests - m.errors)
    yield success
    for metric, (doc, attr) in HISTOGRAMS.items():
        family = HistogramMetricFamily(metric, doc, labels=LABELS)
        for name, m in sorted(r.snap.models.items()):
            add_histogram(family, [name, ENGINE_TYPE], getattr(m, attr))
        yield family
    usage = GaugeMetricFamily("trtllm_kv_cache_utilization", "KV-cache utilization, 0..1.", labels=LABELS)
    hits = GaugeMetricFamily("trtllm_kv_cache_hit_rate", "KV-cache reuse (hit) rate, 0..1.", labels=LABELS)
    for name in r.models():
        g = r.gauge(name)
        usage.add_metric([name, ENGINE_TYPE], g.kv_cache_usage)
        hits.add_metric(
            [name, ENGINE_TYPE],
            g.prefix_cache_hits / g.prefix_cache_queries if g.prefix_cache_queries else 0.0,
        )
    yield usage
    yield hits
