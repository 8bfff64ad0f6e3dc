"""Engine metric flavours: the names each real engine gives its Prometheus metrics, fed by the same
simulated engine (``--metrics-flavor vllm|sglang|trtllm|all``).

Each flavour module exports ``families(reading) -> Iterator[Metric]`` over one :class:`Reading`:
:mod:`.vllm` (``vllm:*``), :mod:`.sglang` (``sglang:*``), :mod:`.trtllm` (``trtllm_*``). The names,
help texts and label sets are the engines' own (versions in each module and in the README).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import Metric

from fakeai.observability.engine import ModelGauges
from fakeai.observability.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Reading:
    """What one scrape knows: the metrics snapshot, the engine gauges per model label, and the
    server's generation throughput (completion tokens per second, lately)."""

    snap: Snapshot
    gauges: dict[str, ModelGauges]
    gen_throughput: float = 0.0

    def models(self) -> list[str]:
        return sorted(set(self.snap.models) | set(self.gauges))

    def gauge(self, model: str) -> ModelGauges:
        return self.gauges.get(model) or ModelGauges()


Families = Callable[[Reading], Iterator[Metric]]


def flavors(name: str) -> tuple[Families, ...]:
    """The family generators of ``--metrics-flavor name``."""
    from fakeai.observability.flavors import sglang, trtllm, vllm

    table = {"vllm": (vllm.families,), "sglang": (sglang.families,), "trtllm": (trtllm.families,)}
    return table.get(name) or (vllm.families, sglang.families, trtllm.families)
