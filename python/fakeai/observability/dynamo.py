"""The simulated cluster's observability: the Prometheus collector of AI-Dynamo-style names (``dynamo_*``)
and the JSON views of ``/kv-cache/metrics`` and ``/dynamo/metrics/json``.

Counters and latency histograms are server-wide (the shared table, see :mod:`fakeai.engine.cluster`).
The simulated workers (:func:`workers`) are the engine model's replicas first, labelled
``"<architecture>/<replica>"``: their running and waiting sequences, KV usage and prefix caches are
the shared engine's, the same whichever worker process answers. Then, when fixed timing is in force or
some request used it, the fixed-timing cluster's workers ``"0"``, ``"1"``...: their gauges (requests
running and queued, cache blocks) describe the cluster of the worker process that answers, whose pid
the JSON views report. Histogram buckets are written by :func:`fakeai.observability.prometheus.buckets`,
as in every other exposition.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from fakeai.engine.cluster import HISTOGRAMS, ClusterSnapshot, SimulatedCluster
from fakeai.observability.prometheus import buckets

PREFIX = "dynamo_"
_HISTOGRAM_HELP = {
    "queue": "Time requests waited for a batch slot",
    "prefill": "Simulated prefill time (uncached prompt tokens)",
    "ttft": "Time to first token",
    "itl": "Inter-token latency",
    "tpot": "Time per output token after the first",
    "decode": "Simulated decode time",
    "e2e": "End-to-end request latency",
}


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def workers(cluster: SimulatedCluster, snap: ClusterSnapshot) -> list[dict[str, Any]]:
    """The engine's replicas, then (when used) this process's cluster workers from ``snap``; each with
    ``server_wide`` counters (``requests``, ``hit_tokens``)."""
    replicas = cluster.replica_workers()
    for w in replicas:
        w["server_wide"] = {"requests": w["requests"], "hit_tokens": w["hit_tokens"]}
    if cluster.engines.enabled and not cluster.cluster_used():
        return replicas
    own = [{**w, "server_wide": cluster.worker_counters(w["worker"])} for w in snap["workers"]]
    return replicas + own


def _total(listed: list[dict[str, Any]], key: str) -> int:
    return sum(int(w[key]) for w in listed)


def kv_cache_view(cluster: SimulatedCluster) -> dict[str, object]:
    c, snap = cluster.counters(), cluster.snapshot()
    listed = workers(cluster, snap)
    used, capacity = _total(listed, "blocks_used"), _total(listed, "blocks_capacity")
    return {
        "cache_hit_rate": _ratio(c["hit_tokens"], c["query_tokens"]),
        "request_hit_rate": _ratio(c["hit_requests"], c["requests"]),
        "requests": c["requests"],
        "hit_requests": c["hit_requests"],
        "query_tokens": c["query_tokens"],
        "tokens_reused": c["hit_tokens"],
        "evicted_blocks": c["evicted_blocks"],
        "block_size": snap["block_size"],
        "blocks_used": used,
        "blocks_capacity": capacity,
        "usage": _ratio(used, capacity),
        "pid": snap["pid"],
        "workers": listed,
    }


class Started:
    def __init__(self) -> None:
        self.at = time.monotonic()

    def uptime(self) -> float:
        return max(time.monotonic() - self.at, 1e-9)


def dynamo_view(cluster: SimulatedCluster, started: Started) -> dict[str, object]:
    c, snap = cluster.counters(), cluster.snapshot()
    listed = workers(cluster, snap)
    latency = {}
    for name in HISTOGRAMS:
        count, total, _ = cluster.histogram(name)
        latency[f"{name}_seconds"] = {
            "count": count,
            "mean": total / count if count else 0.0,
            **{f"p{q}": cluster.quantile(name, q / 100) for q in (50, 90, 99)},
        }
    return {
        "requests": c["requests"],
        "queued_requests_total": c["queued_requests"],
        "released_early": c["released_early"],
        "output_tokens": c["output_tokens"],
        "output_tokens_per_second": c["output_tokens"] / started.uptime(),
        "active_requests": _total(listed, "active"),
        "queued_requests": _total(listed, "queued"),
        "latency": latency,
        "pid": snap["pid"],
        "workers": listed,
    }


class DynamoCollector:
    """Prometheus families over the cluster's counters, histograms and per-worker gauges."""

    def __init__(self, cluster: SimulatedCluster) -> None:
        self.cluster = cluster

    def collect(self):
        cluster = self.cluster
        c, snap = cluster.counters(), cluster.snapshot()
        listed = workers(cluster, snap)
        for name, doc in (
            ("requests", "Requests routed to the simulated cluster"),
            ("queued_requests", "Requests that waited for a batch slot"),
            ("output_tokens", "Completion tokens generated"),
            ("kv_query_tokens", "Prompt tokens looked up in the prefix cache"),
            ("kv_hit_tokens", "Prompt tokens found in the prefix cache"),
            ("kv_evicted_blocks", "KV blocks evicted from prefix caches"),
        ):
            key = name.removeprefix("kv_")
            yield CounterMetricFamily(f"{PREFIX}{name}", doc, value=c[key])
        for name in HISTOGRAMS:
            _count, total, counts = cluster.histogram(name)
            yield HistogramMetricFamily(
                f"{PREFIX}{name}_seconds", _HISTOGRAM_HELP[name], buckets=buckets(counts), sum_value=total
            )
        gauges = {
            "active": ("worker_active_requests", "Requests holding a batch slot"),
            "queued": ("worker_queued_requests", "Requests waiting for a batch slot"),
            "blocks_used": ("worker_kv_blocks_used", "Prefix-cache blocks in use"),
            "blocks_capacity": ("worker_kv_blocks_capacity", "Prefix-cache capacity, blocks"),
        }
        for key, (name, doc) in gauges.items():
            family = GaugeMetricFamily(f"{PREFIX}{name}", doc, labels=["worker"])
            for w in listed:
                family.add_metric([str(w["worker"])], w[key])
            yield family
        family = GaugeMetricFamily(
            f"{PREFIX}worker_kv_cache_usage",
            "Fraction of an engine replica's KV blocks its sequences hold",
            labels=["worker"],
        )
        for w in listed:
            if "kv_usage" in w:
                family.add_metric([str(w["worker"])], w["kv_usage"])
        yield family
        for key, name, doc in (
            ("requests", "worker_requests", "Requests routed to each simulated worker"),
            ("hit_tokens", "worker_kv_hit_tokens", "Prompt tokens found in each worker's prefix cache"),
        ):
            family = CounterMetricFamily(f"{PREFIX}{name}", doc, labels=["worker"])
            for w in listed:
                family.add_metric([str(w["worker"])], w["server_wide"][key])
            yield family
