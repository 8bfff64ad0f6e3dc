"""A point-in-time reading of the shared metrics table, grouped by endpoint and by model.

The key layout is defined once, in the Rust core (``rust/fakeai_core/src/shm/metrics.rs``); this module
only parses it. Quantiles use the core's implementation (``_core.histogram_quantile``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakeai import _core

#: Words are unsigned; a gauge read between a decrement and its increment elsewhere could wrap.
_SANE = 1 << 62


@dataclass(slots=True)
class Histogram:
    """Per-bucket counts (``_core.HISTOGRAM_BOUNDS`` then +Inf) and the sum of observations."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(_core.HISTOGRAM_BOUNDS) + 1))
    sum: float = 0.0

    @classmethod
    def from_words(cls, words: list[int]) -> Histogram:
        return cls(list(words[2 : _core.HISTOGRAM_WIDTH]), words[1] / 1e9)

    @property
    def count(self) -> int:
        return sum(self.buckets)

    def cumulative(self) -> list[int]:
        out, total = [], 0
        for n in self.buckets:
            total += n
            out.append(total)
        return out

    def merge(self, other: Histogram) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.sum += other.sum

    def quantile(self, q: float) -> float:
        return _core.histogram_quantile(self.buckets, q)

    def percentiles(self) -> dict[str, float]:
        count = self.count
        return {
            "count": count,
            "mean": self.sum / count if count else 0.0,
            "p50": self.quantile(0.5),
            "p90": self.quantile(0.9),
            "p95": self.quantile(0.95),
            "p99": self.quantile(0.99),
        }


@dataclass(slots=True)
class EndpointStats:
    by_status: dict[int, int] = field(default_factory=dict)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    slo_met: int = 0
    latency: Histogram = field(default_factory=Histogram)

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(slots=True)
class ModelStats:
    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    running: int = 0
    slo_met: int = 0
    e2e: Histogram = field(default_factory=Histogram)
    ttft: Histogram = field(default_factory=Histogram)
    itl: Histogram = field(default_factory=Histogram)


@dataclass(slots=True)
class Snapshot:
    in_flight: int = 0
    #: Requests finished per worker process id.
    workers: dict[int, int] = field(default_factory=dict)
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)
    models: dict[str, ModelStats] = field(default_factory=dict)

    @classmethod
    def read(cls, table: _core.SharedTable) -> Snapshot:
        snap = cls()
        for key, words in table.items():
            kind, _, rest = key.partition("|")
            if kind == "server":
                snap.in_flight = _gauge(words[0])
            elif kind == "worker":
                snap.workers[int(rest)] = words[0]
            elif kind == "status":
                endpoint, _, status = rest.rpartition("|")
                stats = snap.endpoint(endpoint)
                stats.by_status[int(status)] = words[0]
                stats.slo_met += words[1]
            elif kind == "error":
                endpoint, kind_, code = rest.rsplit("|", 2)
                snap.endpoint(endpoint).errors[(kind_, code)] = words[0]
            elif kind == "latency":
                snap.endpoint(rest).latency = Histogram.from_words(words)
            elif kind == "model":
                m = snap.model(rest)
                m.requests, m.errors, m.prompt_tokens, m.completion_tokens = words[:4]
                m.running, m.slo_met = _gauge(words[4]), words[5]
            elif kind in ("e2e", "ttft", "itl"):
                setattr(snap.model(rest), kind, Histogram.from_words(words))
        return snap

    def endpoint(self, name: str) -> EndpointStats:
        stats = self.endpoints.get(name)
        if stats is None:
            stats = self.endpoints[name] = EndpointStats()
        return stats

    def model(self, name: str) -> ModelStats:
        stats = self.models.get(name)
        if stats is None:
            stats = self.models[name] = ModelStats()
        return stats

    @property
    def requests(self) -> int:
        return sum(e.requests for e in self.endpoints.values())

    @property
    def errors(self) -> int:
        return sum(e.error_count for e in self.endpoints.values())

    @property
    def slo_met(self) -> int:
        return sum(e.slo_met for e in self.endpoints.values())

    def latency(self) -> Histogram:
        total = Histogram()
        for e in self.endpoints.values():
            total.merge(e.latency)
        return total

    @property
    def prompt_tokens(self) -> int:
        return sum(m.prompt_tokens for m in self.models.values())

    @property
    def completion_tokens(self) -> int:
        return sum(m.completion_tokens for m in self.models.values())


def _gauge(word: int) -> int:
    return word if word < _SANE else 0
