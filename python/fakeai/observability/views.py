"""JSON and CSV views of a metrics snapshot: the summary, per-model rows, and the CSV export.

Latencies are in seconds; ``slo.share`` is the fraction of finished requests answered within the
latency objective (``--slo-latency-ms``), 1.0 when nothing was served yet.
"""

from __future__ import annotations

import csv
import io

from fakeai.observability.engine import ModelGauges
from fakeai.observability.snapshot import ModelStats, Snapshot


def _share(part: int, whole: int, empty: float = 0.0) -> float:
    return part / whole if whole else empty


def model_view(name: str, m: ModelStats, gauges: ModelGauges) -> dict:
    return {
        "model": name,
        "requests": m.requests,
        "errors": m.errors,
        "error_rate": _share(m.errors, m.requests),
        "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens,
        "total_tokens": m.prompt_tokens + m.completion_tokens,
        "running": gauges.running,
        "waiting": gauges.waiting,
        "kv_cache_usage": gauges.kv_cache_usage,
        "prefix_cache_hits": gauges.prefix_cache_hits,
        "prefix_cache_queries": gauges.prefix_cache_queries,
        "prefix_cache_hit_rate": _share(gauges.prefix_cache_hits, gauges.prefix_cache_queries),
        "slo_share": _share(m.slo_met, m.requests, 1.0),
        "latency_seconds": {
            "e2e": m.e2e.percentiles(),
            "ttft": m.ttft.percentiles(),
            "itl": m.itl.percentiles(),
        },
    }


def by_model(snap: Snapshot, gauges: dict[str, ModelGauges]) -> dict[str, dict]:
    return {
        name: model_view(name, m, gauges.get(name, ModelGauges())) for name, m in sorted(snap.models.items())
    }


def summary(
    snap: Snapshot, gauges: dict[str, ModelGauges], slo_seconds: float, uptime: float, workers: int
) -> dict:
    """The ``GET /metrics`` document (also each ``/metrics/stream`` message)."""
    requests, errors = snap.requests, snap.errors
    by_type: dict[str, int] = {}
    endpoints = {}
    for name, e in sorted(snap.endpoints.items()):
        for (kind, _), n in e.errors.items():
            by_type[kind] = by_type.get(kind, 0) + n
        endpoints[name] = {
            "requests": e.requests,
            "errors": e.error_count,
            "error_rate": _share(e.error_count, e.requests),
            "by_status": {str(s): n for s, n in sorted(e.by_status.items())},
            "errors_by_type": {f"{kind}/{code}": n for (kind, code), n in sorted(e.errors.items())},
            "slo_share": _share(e.slo_met, e.requests, 1.0),
            "latency_seconds": e.latency.percentiles(),
        }
    hits = sum(g.prefix_cache_hits for g in gauges.values())
    queries = sum(g.prefix_cache_queries for g in gauges.values())
    prompt, completion = snap.prompt_tokens, snap.completion_tokens
    return {
        "object": "fakeai.metrics",
        "uptime_seconds": round(uptime, 3),
        "workers": workers,
        "requests": {
            "total": requests,
            "in_flight": snap.in_flight,
            "by_worker": {str(pid): n for pid, n in sorted(snap.workers.items())},
        },
        "errors": {
            "total": errors,
            "rate": _share(errors, requests),
            "by_type": dict(sorted(by_type.items())),
        },
        "tokens": {"prompt": prompt, "completion": completion, "total": prompt + completion},
        "latency_seconds": snap.latency().percentiles(),
        "slo": {
            "objective_seconds": slo_seconds,
            "met": snap.slo_met,
            "share": _share(snap.slo_met, requests, 1.0),
        },
        "engine": {
            "running": sum(g.running for g in gauges.values()),
            "waiting": sum(g.waiting for g in gauges.values()),
            "prefix_cache_hit_rate": _share(hits, queries),
        },
        "endpoints": endpoints,
        "models": by_model(snap, gauges),
    }


CSV_COLUMNS = (
    "model",
    "requests",
    "errors",
    "error_rate",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "running",
    "waiting",
    "kv_cache_usage",
    "prefix_cache_hit_rate",
    "slo_share",
)
_LATENCIES = (
    ("e2e", "p50"),
    ("e2e", "p99"),
    ("ttft", "p50"),
    ("ttft", "p99"),
    ("itl", "p50"),
    ("itl", "p99"),
)


def to_csv(snap: Snapshot, gauges: dict[str, ModelGauges]) -> str:
    """One row per model: counts, rates and latency percentiles (seconds)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"{kind}_{q}_seconds" for kind, q in _LATENCIES)])
    for row in by_model(snap, gauges).values():
        lat = row["latency_seconds"]
        writer.writerow([*(row[c] for c in CSV_COLUMNS), *(f"{lat[kind][q]:.6f}" for kind, q in _LATENCIES)])
    return out.getvalue()
