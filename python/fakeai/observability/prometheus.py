"""``/metrics/prometheus``: the shared metrics through a prometheus-client custom collector.

fakeai's own names (``fakeai_*``: per endpoint and status, errors by type and code, per-model tokens,
in-flight, SLO), then one or more engines' names (``--metrics-flavor``: vLLM's ``vllm:*`` by default,
SGLang's ``sglang:*``, TensorRT-LLM's ``trtllm_*``; :mod:`fakeai.observability.flavors`) so that
dashboards and autoscalers built for that engine work unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from fakeai import _core
from fakeai.observability.engine import ModelGauges
from fakeai.observability.flavors import Reading, flavors
from fakeai.observability.rate import Rate
from fakeai.observability.snapshot import Histogram, Snapshot

#: Each bucket's ``le`` label, written as prometheus_client writes a float bound (``1.0``, ``+Inf``).
BUCKET_LABELS = [floatToGoString(b) for b in [*_core.HISTOGRAM_BOUNDS, float("inf")]]


def buckets(counts: Iterable[int]) -> list[tuple[str, int]]:
    """``(le, cumulative count)`` of per-bucket ``counts`` (``_core.HISTOGRAM_BOUNDS`` then +Inf), as a
    ``HistogramMetricFamily`` takes them: the one formatter of histogram buckets (fakeai, vLLM, Dynamo)."""
    return list(zip(BUCKET_LABELS, accumulate(counts), strict=True))


def add_histogram(family: HistogramMetricFamily, labels: list[str], h: Histogram) -> None:
    family.add_metric(labels, buckets(h.buckets), h.sum)


class MetricsCollector:
    """Reads one snapshot per scrape and yields every family from it."""

    def __init__(
        self,
        read: Callable[[], tuple[Snapshot, dict[str, ModelGauges]]],
        slo_seconds: float,
        uptime: Callable[[], float],
        lora_info: Callable[[], list[tuple[dict[str, str], float]]],
        flavor: str = "vllm",
        hot_requests: Callable[[], int] | None = None,
    ) -> None:
        self.read = read
        #: Reads the requests served by the Rust hot path (fakeai.api.hot), server-wide.
        self.hot_requests = hot_requests
        self.flavors = flavors(flavor)
        self.vllm = flavor in ("vllm", "all")
        self.throughput = Rate()
        self.slo_seconds = slo_seconds
        self.uptime = uptime
        self.lora_info = lora_info

    def collect(self) -> Iterator[Metric]:
        snap, gauges = self.read()
        yield from self._fakeai(snap)
        reading = Reading(snap, gauges, self.throughput.per_second(snap.completion_tokens))
        for families in self.flavors:
            yield from families(reading)
        if not self.vllm:
            return
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
            add_histogram(latency, [name], e.latency)
        yield from (requests, errors, slo, latency)
        yield GaugeMetricFamily(
            "fakeai_slo_objective_seconds",
            "The latency objective (--slo-latency-ms).",
            value=self.slo_seconds,
        )
        yield GaugeMetricFamily(
            "fakeai_requests_in_flight", "Requests being served now.", value=snap.in_flight
        )
        if self.hot_requests is not None:
            yield CounterMetricFamily(
                "fakeai_hot_path_requests",
                "Requests served by the Rust hot path (the rest walk the Python chain).",
                value=self.hot_requests(),
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


def exposition(collector: MetricsCollector) -> bytes:
    """The text exposition of ``collector`` alone (a private registry, not the process default)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
