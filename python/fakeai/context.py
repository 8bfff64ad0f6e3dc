"""What every API module needs from the running server: settings, catalog, latency, modes, adapters.

Built once per worker process by :func:`fakeai.app.create_app` and handed to each module's
``routes(ctx)``; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fakeai import _core, shared
from fakeai.engine.catalog import Catalog, ModelInfo
from fakeai.engine.latency import LatencyProfile
from fakeai.engine.lora import TABLE, TABLE_CAPACITY, LoraModule, LoraRegistry, parse_modules
from fakeai.engine.modes import ResponseMode
from fakeai.engine.usage import UsageMeter
from fakeai.observability import EngineGauges, Metrics, counted_gauges
from fakeai.settings import Settings
from fakeai.store import Store, open_store

if TYPE_CHECKING:
    from fakeai.gateway.state import GatewayState

#: Reported as ``system_fingerprint``; changes when fakeai's generation changes.
FINGERPRINT = "fp_fakeai04"


@dataclass(slots=True)
class ServerContext:
    settings: Settings
    catalog: Catalog = field(default_factory=Catalog)
    latency: LatencyProfile = field(init=False)
    mode: ResponseMode = field(init=False)
    lengths: _core.LengthDistribution = field(init=False)
    loras: LoraRegistry = field(init=False)
    metrics: Metrics = field(init=False)
    #: Engine state per model for the metrics views (vllm:num_requests_running/waiting, KV-cache usage,
    #: prefix-cache hits/queries); the simulated cluster replaces this provider with its own.
    engine_gauges: EngineGauges = counted_gauges
    gateway: GatewayState = field(init=False)
    store: Store = field(init=False)
    usage: UsageMeter = field(init=False)

    def __post_init__(self) -> None:
        from fakeai.gateway.state import GatewayState

        s = self.settings
        self.latency = LatencyProfile.from_settings(s)
        self.metrics = Metrics(s)
        self.gateway = GatewayState.build(s, self.catalog)
        self.mode = ResponseMode(s.mode)
        self.lengths = _core.LengthDistribution(s.output_length_distribution)
        table = shared.open_table(TABLE, TABLE_CAPACITY, 4)
        self.store = open_store(s.data_dir)
        self.usage = UsageMeter()
        self.loras = LoraRegistry(shared.current_dir(), table, parse_modules(s.lora_modules), s.max_loras)

    def resolve_model(self, name: str) -> tuple[LoraModule | None, ModelInfo]:
        """The LoRA adapter a request names (or None) and the catalog entry of the model serving it
        (an adapter's base model); an unknown model id is registered on first use."""
        lora = self.loras.find(name)
        base = (lora.base_model_name or self.settings.lora_base_model) if lora else name
        return lora, self.catalog.resolve(base)
