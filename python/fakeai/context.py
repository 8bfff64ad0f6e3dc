"""What every API module needs from the running server: settings, catalog, latencies, the simulated
cluster, response modes, adapters, metrics, gateway state and the store.

Built once per worker process by :func:`fakeai.app.create_app` and handed to each module's
``routes(ctx)``; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import EllipsisType
from typing import TYPE_CHECKING

from fakeai import _core
from fakeai.engine import deployment
from fakeai.engine.catalog import TABLE as MODELS_TABLE
from fakeai.engine.catalog import Catalog, ModelInfo, table_capacity
from fakeai.engine.cluster import SimulatedCluster
from fakeai.engine.deployment import Engines
from fakeai.engine.kv_events import check_endpoint
from fakeai.engine.latency import Latencies
from fakeai.engine.lora import TABLE, TABLE_CAPACITY, LoraModule, LoraRegistry, startup_modules
from fakeai.engine.pacing import Ticker
from fakeai.engine.usage import UsageMeter
from fakeai.extras import require
from fakeai.http.body_timeout import BodyClock
from fakeai.observability import EngineGauges, Metrics
from fakeai.observability.fake import FakeMetrics
from fakeai.runtime import shared
from fakeai.runtime.control import Control
from fakeai.runtime.live_config import LiveConfig
from fakeai.settings import Settings
from fakeai.store import Store, open_store

if TYPE_CHECKING:
    from fakeai.gateway.state import GatewayState


@dataclass(slots=True)
class ServerContext:
    settings: Settings
    #: Well-known models and the server-wide registry of auto-registered ones (shared memory).
    catalog: Catalog = field(init=False)
    latencies: Latencies = field(init=False)
    #: The one timer of this worker process that paces every response (see engine.pacing).
    ticker: Ticker = field(init=False)
    cluster: SimulatedCluster = field(init=False)
    #: The engine model's engines (shared by every worker process), for the requests it times.
    engines: Engines = field(init=False)
    #: ``--mode echo``: answer with the request's own text unless a request says otherwise.
    echo: bool = field(init=False)
    lengths: _core.LengthDistribution = field(init=False)
    loras: LoraRegistry = field(init=False)
    metrics: Metrics = field(init=False)
    #: Engine state per model for the metrics views (vllm:num_requests_running/waiting, KV-cache usage,
    #: prefix-cache hits/queries): the simulated cluster's, or the figures of --fake-metrics.
    engine_gauges: EngineGauges = field(init=False)
    gateway: GatewayState = field(init=False)
    store: Store = field(init=False)
    usage: UsageMeter = field(init=False)
    #: Server-wide readiness and sleep state, polled once per request by the gateway middleware.
    control: Control = field(init=False)
    #: The run-time settings: ``settings`` follows them (see :meth:`_reconfigure`).
    live: LiveConfig = field(init=False)
    #: This worker's timer of request bodies that stop arriving (the gateway's and the hot path's).
    body_clock: BodyClock = field(init=False)

    def __post_init__(self) -> None:
        from fakeai.gateway.state import GatewayState

        self.control = Control(self.settings)
        self.live = LiveConfig(self.settings, self.control)
        s = self.settings = self.live.settings  # a worker started after a change starts changed
        limit = s.max_auto_models
        self.catalog = Catalog(shared.open_table(MODELS_TABLE, table_capacity(limit), 2), limit)
        self.latencies = Latencies(s)
        self.ticker = Ticker()
        self.engines = Engines(s)
        self.cluster = SimulatedCluster(s, self.ticker, self.engines)
        self.engine_gauges = self.cluster.engine_gauges
        self.metrics = Metrics(s)
        self.gateway = GatewayState.build(s, self.catalog)
        self.echo = s.mode == "echo"
        self.lengths = _core.LengthDistribution(s.output_length_distribution)
        table = shared.open_table(TABLE, TABLE_CAPACITY, 4)
        self.store = open_store(s.data_dir)
        self.usage = UsageMeter(self.metrics)
        self.loras = LoraRegistry(shared.current_dir(), table, startup_modules(s), s.max_loras)
        self.body_clock = BodyClock(s.body_read_timeout_s)
        self.live.subscribe(self._reconfigure)

    def _reconfigure(self, s: Settings) -> None:
        """Rebuild what the run-time settings drive; the gateway middleware and the metrics views
        follow on their own (they subscribe too, or compare what they read)."""
        self.settings = s
        self.latencies = Latencies(s)
        self.echo = s.mode == "echo"
        self.lengths = _core.LengthDistribution(s.output_length_distribution)
        self.gateway.reconfigure(s, self.catalog)

    @staticmethod
    def check(settings: Settings) -> None:
        """The checks of the knobs each subsystem interprets (``Settings.validated`` checks every knob
        alone and the relations between plain knobs): LoRA adapters, the engine model's deployment, KV
        events, ``--fake-metrics``, the
        gateway's scenario, keys, limits and mixes, and the optional packages the knobs need. Each
        subsystem checks its own again where it is built; ``fakeai server`` calls this before starting
        workers, so bad values stop it at once with a ValueError (or a MissingExtra) naming what is
        wrong."""
        from fakeai.gateway.state import GatewayState

        startup_modules(settings)
        deployment.check(settings)
        if settings.kv_events:
            check_endpoint(settings)
        if settings.fake_metrics:
            FakeMetrics.parse(settings.fake_metrics)
        if settings.self_signed_certs:
            require("cryptography")
        GatewayState.check(settings)

    def resolve_model(
        self, name: str, lora: LoraModule | None | EllipsisType = ...
    ) -> tuple[LoraModule | None, ModelInfo]:
        """The LoRA adapter a request names (or None) and the catalog entry of the model serving it
        (an adapter's base model); an unknown model id is registered on first use. ``lora``: the
        adapter already looked up for ``name``, or ``...`` to look it up here."""
        if lora is ...:
            lora = self.loras.find(name)
        base = (lora.base_model_name or self.settings.lora_base_model) if lora else name
        return lora, self.catalog.resolve(base)
