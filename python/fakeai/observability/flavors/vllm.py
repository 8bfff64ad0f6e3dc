"""vLLM's metric names (``vllm:*``, label ``model_name``; vLLM V1, 0.8 - 0.11), so that a Grafana
dashboard built for vLLM works unchanged. ``vllm:time_per_output_token_seconds`` (vLLM's older name)
and ``vllm:inter_token_latency_seconds`` carry the same inter-token histogram, and
``vllm:gpu_cache_usage_perc`` (older) the same value as ``vllm:kv_cache_usage_perc``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from fakeai.observability.flavors import Reading
from fakeai.observability.prometheus import add_histogram

GAUGES = {
    "vllm:num_requests_running": ("Number of requests in model execution batches.", "running"),
    "vllm:num_requests_waiting": ("Number of requests waiting to be processed.", "waiting"),
    "vllm:kv_cache_usage_perc": ("KV-cache usage. 1 means 100 percent usage.", "kv_cache_usage"),
    "vllm:gpu_cache_usage_perc": ("GPU KV-cache usage. 1 means 100 percent usage.", "kv_cache_usage"),
}
#: name -> (help, request statistic, or None and an engine gauge)
COUNTERS = {
    "vllm:prefix_cache_queries": (
        "Prefix cache queries, in terms of number of queried tokens.",
        None,
        "prefix_cache_queries",
    ),
    "vllm:prefix_cache_hits": (
        "Prefix cache hits, in terms of number of cached tokens.",
        None,
        "prefix_cache_hits",
    ),
    "vllm:prompt_tokens": ("Number of prefill tokens processed.", "prompt_tokens", None),
    "vllm:generation_tokens": ("Number of generation tokens processed.", "completion_tokens", None),
    "vllm:request_success": ("Count of successfully processed requests.", "successes", None),
}
HISTOGRAMS = {
    "vllm:time_to_first_token_seconds": ("Histogram of time to first token in seconds.", "ttft"),
    "vllm:inter_token_latency_seconds": ("Histogram of inter-token latency in seconds.", "itl"),
    "vllm:time_per_output_token_seconds": ("Histogram of time per output token in seconds.", "itl"),
    "vllm:e2e_request_latency_seconds": ("Histogram of end to end request latency in seconds.", "e2e"),
}


def families(r: Reading) -> Iterator[Metric]:
    models = r.models()
    for metric, (doc, attr) in GAUGES.items():
        gauge_family = GaugeMetricFamily(metric, doc, labels=["model_name"])
        for name in models:
            gauge_family.add_metric([name], getattr(r.gauge(name), attr))
        yield gauge_family
    for metric, (doc, stat, gauge) in COUNTERS.items():
        counter_family = CounterMetricFamily(metric, doc, labels=["model_name"])
        for name in models:
            m = r.snap.models.get(name)
            if gauge is not None:
                counter_family.add_metric([name], getattr(r.gauge(name), gauge))
            elif m is not None:
                assert stat is not None, "a counter without an engine gauge names a request statistic"
                counter_family.add_metric(
                    [name], m.requests - m.errors if stat == "successes" else getattr(m, stat)
                )
        yield counter_family
    counter_family = CounterMetricFamily(
        "vllm:num_preemptions", "Cumulative number of preemptions from the engine.", labels=["model_name"]
    )
    for name in models:
        counter_family.add_metric([name], r.gauge(name).preemptions)
    yield counter_family
    histogram_family = HistogramMetricFamily(
        "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", labels=["model_name"]
    )
    for name in models:
        iteration = r.gauge(name).iteration_tokens
        if iteration is not None:
            bounds, counts, total = iteration
            les = [floatToGoString(b) for b in bounds] + ["+Inf"]
            histogram_family.add_metric([name], list(zip(les, accumulate(counts), strict=True)), total)
    yield histogram_family
    for metric, (doc, attr) in HISTOGRAMS.items():
        histogram_family = HistogramMetricFamily(metric, doc, labels=["model_name"])
        for name, m in sorted(r.snap.models.items()):
            add_histogram(histogram_family, [name], getattr(m, attr))
        yield histogram_family
