"""SGLang's metric names (``sglang:*``, label ``model_name``), as SGLang's runtime exposes them with
``--enable-metrics`` (``sglang/srt/metrics/collector.py``, SGLang 0.4.x; the "Production Metrics"
page of its documentation), fed by the simulated engine:

- gauges: ``num_running_reqs`` / ``num_queue_reqs`` (the engine's running / waiting requests),
  ``token_usage`` (KV-cache usage, 0..1), ``cache_hit_rate`` (prefix-cache hit tokens / queried
  tokens), ``gen_throughput`` (generated tokens per second, lately);
- counters: ``prompt_tokens_total``, ``generation_tokens_total``, ``num_requests_total``,
  ``cached_tokens_total`` (prefix-cache hit tokens);
- histograms: ``time_to_first_token_seconds``, ``inter_token_latency_seconds``,
  ``time_per_output_token_seconds`` (the same inter-token histogram), ``e2e_request_latency_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from fakeai.observability.engine import ModelGauges
from fakeai.observability.flavors import Reading
from fakeai.observability.prometheus import add_histogram


def _hit_rate(g: ModelGauges) -> float:
    return g.prefix_cache_hits / g.prefix_cache_queries if g.prefix_cache_queries else 0.0


GAUGES = {
    "sglang:num_running_reqs": ("The number of running requests.", lambda g, r: g.running),
    "sglang:num_queue_reqs": ("The number of requests in the waiting queue.", lambda g, r: g.waiting),
    "sglang:token_usage": ("The token usage.", lambda g, r: g.kv_cache_usage),
    "sglang:cache_hit_rate": ("The prefix cache hit rate.", lambda g, r: _hit_rate(g)),
    "sglang:gen_throughput": ("The generation throughput (token/s).", lambda g, r: r.gen_throughput),
}
COUNTERS = {
    "sglang:prompt_tokens": ("Number of prefill tokens processed.", lambda m, g: m.prompt_tokens),
    "sglang:generation_tokens": ("Number of generation tokens processed.", lambda m, g: m.completion_tokens),
    "sglang:num_requests": ("Number of requests processed.", lambda m, g: m.requests),
    "sglang:cached_tokens": ("Number of cached prompt tokens.", lambda m, g: g.prefix_cache_hits),
}
HISTOGRAMS = {
    "sglang:time_to_first_token_seconds": ("Histogram of time to first token in seconds.", "ttft"),
    "sglang:inter_token_latency_seconds": ("Histogram of inter-token latency in seconds.", "itl"),
    "sglang:time_per_output_token_seconds": ("Histogram of time per output token in seconds.", "itl"),
    "sglang:e2e_request_latency_seconds": ("Histogram of End-to-end request latency in seconds", "e2e"),
}


def families(r: Reading) -> Iterator[Metric]:
    models = r.models()
    for metric, (doc, value) in GAUGES.items():
        gauge_family = GaugeMetricFamily(metric, doc, labels=["model_name"])
        for name in models:
            gauge_family.add_metric([name], value(r.gauge(name), r))
        yield gauge_family
    for metric, (doc, count) in COUNTERS.items():
        counter_family = CounterMetricFamily(metric, doc, labels=["model_name"])
        for name, m in sorted(r.snap.models.items()):
            counter_family.add_metric([name], count(m, r.gauge(name)))
        yield counter_family
    for metric, (doc, attr) in HISTOGRAMS.items():
        histogram_family = HistogramMetricFamily(metric, doc, labels=["model_name"])
        for name, m in sorted(r.snap.models.items()):
            add_histogram(histogram_family, [name], getattr(m, attr))
        yield histogram_family
