"""``/metrics/prometheus``: the shared metrics through a prometheus-client custom collector.

Two families of names: fakeai's own (``fakeai_*``: per endpoint and status, errors by type and code,
per-model tokens, in-flight, SLO) and vLLM's (``vllm:*`` with a ``model_name`` label) so that a Grafana
dashboard built for vLLM works unchanged. ``vllm:time_per_output_token_seconds`` (vLLM's older name)
and ``vllm:inter_token_latency_seconds`` carry the same inter-token histogram, and
``vllm:gpu_cache_usage_perc`` (older) the same value as ``vllm:kv_cache_usage_perc``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from fakeai import _core
from fakeai.observability.engine import ModelGauges
from fakeai.observability.snapshot import Histogram, Snapshot

#: Each bucket's ``le`` label, written as prometheus_client writes a float bound (``1.0``, ``+Inf``).
BUCKET_LABELS = [floatToGoString(b) for b in [*_core.HISTOGRAM_BOUNDS, float("inf")]]


def buckets(counts: Iterable[int]) -> list[tuple[str, int]]:
    """``(le, cumulative count)`` of per-bucket ``counts`` (``_core.HISTOGRAM_BOUNDS`` then +Inf), as a
    ``HistogramMetricFamily`` takes them: the one formatter of histogram buckets (fakeai, vLLM, Dynamo)."""
    return list(zip(BUCKET_LABELS, accumulate(counts), strict=True))


def _add_histogram(family: HistogramMetricFamily, labels: list[str], h: Histogram) -> None:
    family.add_metric(labels, buckets(h.buckets), h.sum)


class MetricsCollector:
    """Reads one snapshot per scrape and yields every family from it."""

    def __init__(
        self,
        read: Callable[[], tuple[Snapshot, dict[str, ModelGauges]]],
        slo_seconds: float,
        uptime: Callable[[], float],
        lora_info: Callable[[], list[tuple[dict[str, str], float]]],
    ) -> None:
        self.read = read
        self.slo_seconds = slo_seconds
        self.uptime = uptime
        self.lora_info = lora_info

    def collect(self) -> Iterator[Metric]:
        snap, gauges = self.read()
        yield from self._fakeai(snap)
        yield from self._vllm(snap, gauges)
        info = GaugeMetricFamily(
            "vllm:lora_requests_info",
            "Running stats on LoRA requests (the value is the time of the reading).",
            labels=["max_lora", "running_lora_adapters", "waiting_lora_adapters"],
        )
        for labels, value in self.lora_info():
            row = [labels.get(k, "") for k in ("max_lora", "running_lora_adapters", "waiting_lora_adapters")]
            info.add_metric(row, value)
        yield info

    def _fakeai(self, snap: Snapshot) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "fakeai_requests", "HTTP requests by route and status.", labels=["endpoint", "status"]
        )
        errors = CounterMetricFamily(
            "fakeai_request_errors",
            "Failed requests by route and OpenAI error type/code.",
            labels=["endpoint", "type", "code"],
        )
        slo = CounterMetricFamily(
            "fakeai_requests_within_slo",
            "Requests answered within the latency objective.",
            labels=["endpoint"],
        )
        latency = HistogramMetricFamily(
            "fakeai_request_duration_seconds", "End-to-end request latency.", labels=["endpoint"]
        )
        for name, e in sorted(snap.endpoints.items()):
            for status, n in sorted(e.by_status.items()):
                requests.add_metric([name, str(status)], n)
            for (kind, code), n in sorted(e.errors.items()):
                errors.add_metric([name, kind, code], n)
            slo.add_metric([name], e.slo_met)
            _add_histogram(latency, [name], e.latency)
        yield from (requests, errors, slo, latency)
        yield GaugeMetricFamily(
            "fakeai_slo_objective_seconds",
            "The latency objective (--slo-latency-ms).",
            value=self.slo_seconds,
        )
        yield GaugeMetricFamily(
            "fakeai_requests_in_flight", "Requests being served now.", value=snap.in_flight
        )
        yield GaugeMetricFamily(
            "fakeai_uptime_seconds", "Seconds since the server started.", value=self.uptime()
        )
        per_model = {
            "fakeai_model_requests": ("Finished inference requests per model.", "requests"),
            "fakeai_model_errors": ("Failed inference requests per model.", "errors"),
            "fakeai_prompt_tokens": ("Prompt tokens per model.", "prompt_tokens"),
            "fakeai_completion_tokens": ("Completion tokens per model.", "completion_tokens"),
        }
        for metric, (doc, attr) in per_model.items():
            family = CounterMetricFamily(metric, doc, labels=["model"])
            for name, m in sorted(snap.models.items()):
                family.add_metric([name], getattr(m, attr))
            yield family

    def _vllm(self, snap: Snapshot, gauges: dict[str, ModelGauges]) -> Iterator[Metric]:
        models = sorted(set(snap.models) | set(gauges))
        empty = ModelGauges()
        gauge_docs = {
            "vllm:num_requests_running": ("Number of requests in model execution batches.", "running"),
            "vllm:num_requests_waiting": ("Number of requests waiting to be processed.", "waiting"),
            "vllm:kv_cache_usage_perc": ("KV-cache usage. 1 means 100 percent usage.", "kv_cache_usage"),
            "vllm:gpu_cache_usage_perc": ("GPU KV-cache usage. 1 means 100 percent usage.", "kv_cache_usage"),
        }
        for metric, (doc, attr) in gauge_docs.items():
            family = GaugeMetricFamily(metric, doc, labels=["model_name"])
            for name in models:
                family.add_metric([name], getattr(gauges.get(name, empty), attr))
            yield family
        counter_docs = {
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
        for metric, (doc, stat, gauge) in counter_docs.items():
            family = CounterMetricFamily(metric, doc, labels=["model_name"])
            for name in models:
                m = snap.models.get(name)
                if gauge is not None:
                    family.add_metric([name], getattr(gauges.get(name, empty), gauge))
                elif m is not None:
                    value = m.requests - m.errors if stat == "successes" else getattr(m, stat)
                    family.add_metric([name], value)
            yield family
        family = CounterMetricFamily(
            "vllm:num_preemptions", "Cumulative number of preemptions from the engine.", labels=["model_name"]
        )
        for name in models:
            family.add_metric([name], gauges.get(name, empty).preemptions)
        yield family
        family = HistogramMetricFamily(
            "vllm:iteration_tokens_total",
            "Histogram of number of tokens per engine_step.",
            labels=["model_name"],
        )
        for name in models:
            iteration = gauges.get(name, empty).iteration_tokens
            if iteration is not None:
                bounds, counts, total = iteration
                les = [floatToGoString(b) for b in bounds] + ["+Inf"]
                family.add_metric([name], list(zip(les, accumulate(counts), strict=True)), total)
        yield family
        histogram_docs = {
            "vllm:time_to_first_token_seconds": ("Histogram of time to first token in seconds.", "ttft"),
            "vllm:inter_token_latency_seconds": ("Histogram of inter-token latency in seconds.", "itl"),
            "vllm:time_per_output_token_seconds": ("Histogram of time per output token in seconds.", "itl"),
            "vllm:e2e_request_latency_seconds": (
                "Histogram of end to end request latency in seconds.",
                "e2e",
            ),
        }
        for metric, (doc, attr) in histogram_docs.items():
            family = HistogramMetricFamily(metric, doc, labels=["model_name"])
            for name, m in sorted(snap.models.items()):
                _add_histogram(family, [name], getattr(m, attr))
            yield family


def exposition(collector: MetricsCollector) -> bytes:
    """The text exposition of ``collector`` alone (a private registry, not the process default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
