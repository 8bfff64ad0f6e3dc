"""Engine gauges: what the simulated inference engine reports per model, behind one small interface.

vLLM exposes scheduler and cache state (``vllm:num_requests_running``/``waiting``,
``vllm:kv_cache_usage_perc``, ``vllm:prefix_cache_hits_total``/``queries_total``). Those come from the
engine, not from request counting, so the metrics views ask an :class:`EngineGauges` provider for them.

:func:`counted_gauges` is the provider used until a simulated cluster supplies real numbers: running =
the requests in flight per model that the metrics count, waiting = 0, KV-cache usage = 0, prefix-cache
hits/queries = 0. A cluster plugs in by assigning its own provider to ``ServerContext.engine_gauges``
(see :class:`fakeai.context.ServerContext`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fakeai.observability.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class ModelGauges:
    """One model's engine state. Counters (prefix hits/queries) are totals since start, in tokens as
    vLLM counts them; ``kv_cache_usage`` is a fraction in 0..1. Only the engine model reports
    ``preemptions`` and ``iteration_tokens`` (``(bucket bounds, per-bucket counts + [+Inf], sum)`` of
    the tokens each engine step scheduled)."""

    running: int = 0
    waiting: int = 0
    kv_cache_usage: float = 0.0
    prefix_cache_hits: int = 0
    prefix_cache_queries: int = 0
    preemptions: int = 0
    iteration_tokens: tuple[list[int], list[int], int] | None = None


class EngineGauges(Protocol):
    def __call__(self, snapshot: Snapshot) -> dict[str, ModelGauges]:
        """Engine state per model label (labels as in ``snapshot.models``, including ``other``).

        Must be cheap (it runs on every scrape and every stream tick) and must report server-wide
        figures, the same whichever worker process is asked."""
        ...


def counted_gauges(snapshot: Snapshot) -> dict[str, ModelGauges]:
    """The provider used until the simulated cluster reports: only ``running`` is known."""
    return {name: ModelGauges(running=m.running) for name, m in snapshot.models.items()}
