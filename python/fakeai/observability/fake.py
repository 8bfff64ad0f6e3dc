"""``--fake-metrics``: fixed figures for the vLLM metrics, as llm-d's inference simulator takes them.

Autoscaler and dashboard tests script exactly the numbers they need::

    fakeai server --fake-metrics '{"running-requests": 10, "waiting-requests": 30, "kv-cache-usage": 0.4,
        "loras": [{"running": "lora1,lora2", "waiting": "lora3", "timestamp": 1700000000}],
        "ttft-buckets-values": [0, 0, 5, 10], "tpot-buckets-values": [3, 7]}'

Keys (all optional): ``running-requests`` and ``waiting-requests`` (``vllm:num_requests_running`` /
``_waiting``), ``kv-cache-usage`` (0..1, ``vllm:kv_cache_usage_perc``), ``loras`` (the label sets of
``vllm:lora_requests_info``: comma-separated adapter names, and a timestamp as the gauge's value),
``ttft-buckets-values`` and ``tpot-buckets-values`` (observations per bucket of
``vllm:time_to_first_token_seconds`` and ``vllm:time_per_output_token_seconds`` /
``vllm:inter_token_latency_seconds``, in the order of fakeai's bucket bounds, ``_core.HISTOGRAM_BOUNDS``;
missing trailing buckets are 0). While set, these replace the simulated figures for every model label.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from fakeai import _core
from fakeai.observability.engine import ModelGauges
from fakeai.observability.snapshot import Histogram, ModelStats, Snapshot

BUCKETS = len(_core.HISTOGRAM_BOUNDS) + 1
KEYS = (
    "running-requests",
    "waiting-requests",
    "kv-cache-usage",
    "loras",
    "ttft-buckets-values",
    "tpot-buckets-values",
)


class FakeMetricsError(ValueError):
    """A bad ``--fake-metrics`` document: the message names the key (a bad setting, like any other
    ``ValueError`` from settings validation)."""


@dataclass(frozen=True, slots=True)
class LoraInfo:
    running: str
    waiting: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class FakeMetrics:
    running: int = 0
    waiting: int = 0
    kv_cache_usage: float = 0.0
    loras: tuple[LoraInfo, ...] = ()
    ttft_buckets: tuple[int, ...] | None = None
    tpot_buckets: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, text: str) -> FakeMetrics:
        """Read the ``--fake-metrics`` JSON; a bad key or value raises :class:`FakeMetricsError` naming it."""
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise FakeMetricsError(f"--fake-metrics is not valid JSON: {e}") from None
        if not isinstance(doc, dict):
            raise FakeMetricsError("--fake-metrics must be a JSON object")
        unknown = sorted(set(doc) - set(KEYS))
        if unknown:
            raise FakeMetricsError(f"--fake-metrics: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
        usage = _number(doc, "kv-cache-usage", 0.0)
        if not 0 <= usage <= 1:
            raise FakeMetricsError("--fake-metrics: 'kv-cache-usage' must be between 0 and 1")
        return cls(
            running=int(_number(doc, "running-requests", 0)),
            waiting=int(_number(doc, "waiting-requests", 0)),
            kv_cache_usage=usage,
            loras=tuple(_lora(item, i) for i, item in enumerate(_list(doc, "loras"))),
            ttft_buckets=_buckets(doc, "ttft-buckets-values"),
            tpot_buckets=_buckets(doc, "tpot-buckets-values"),
        )

    def apply(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` with the scripted latency histograms in place of the measured ones, for every
        model label (a label ``fakeai`` when no model was requested yet)."""
        if self.ttft_buckets is None and self.tpot_buckets is None:
            return snapshot
        if not snapshot.models:
            snapshot.models["fakeai"] = ModelStats()
        for m in snapshot.models.values():
            if self.ttft_buckets is not None:
                m.ttft = _histogram(self.ttft_buckets)
            if self.tpot_buckets is not None:
                m.itl = _histogram(self.tpot_buckets)
        return snapshot

    def gauges(self, snapshot: Snapshot) -> dict[str, ModelGauges]:
        """The engine gauges of every model label (``fakeai`` when no model was requested yet)."""
        fixed = ModelGauges(running=self.running, waiting=self.waiting, kv_cache_usage=self.kv_cache_usage)
        return {name: fixed for name in (snapshot.models or ("fakeai",))}

    def lora_info(self) -> list[tuple[dict[str, str], float]]:
        """Label sets and values of ``vllm:lora_requests_info``."""
        return [
            ({"running_lora_adapters": lo.running, "waiting_lora_adapters": lo.waiting}, lo.timestamp)
            for lo in self.loras
        ]


def _histogram(counts: tuple[int, ...]) -> Histogram:
    """A histogram of ``counts`` per bucket; its sum takes each observation at its bucket's middle."""
    bounds = _core.HISTOGRAM_BOUNDS
    mids = [(lo + hi) / 2 for lo, hi in zip([0.0, *bounds[:-1]], bounds, strict=True)] + [bounds[-1]]
    return Histogram(list(counts), sum(n * mid for n, mid in zip(counts, mids, strict=True)))


def _number(doc: dict, key: str, default: float) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise FakeMetricsError(f"--fake-metrics: {key!r} must be a non-negative number")
    return float(value)


def _list(doc: dict, key: str) -> list:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise FakeMetricsError(f"--fake-metrics: {key!r} must be a list")
    return value


def _lora(item: object, i: int) -> LoraInfo:
    if not isinstance(item, dict):
        raise FakeMetricsError(
            f"--fake-metrics: 'loras[{i}]' must be an object with running, waiting, timestamp"
        )
    running, waiting = item.get("running", ""), item.get("waiting", "")
    if not isinstance(running, str) or not isinstance(waiting, str):
        raise FakeMetricsError(
            f"--fake-metrics: 'loras[{i}]' running and waiting must be comma-separated names"
        )
    return LoraInfo(running, waiting, _number(item, "timestamp", 0.0))


def _buckets(doc: dict, key: str) -> tuple[int, ...] | None:
    if key not in doc:
        return None
    values = _list(doc, key)
    if len(values) > BUCKETS or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise FakeMetricsError(f"--fake-metrics: {key!r} must be at most {BUCKETS} non-negative integers")
    return tuple(values) + (0,) * (BUCKETS - len(values))
