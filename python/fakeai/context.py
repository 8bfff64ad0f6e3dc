"""What every API module needs from the running server: settings, catalog, latencies, simulated cluster.

Built once per worker process by :func:`fakeai.app.create_app` and handed to each module's
``routes(ctx)``; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakeai.engine.catalog import Catalog
from fakeai.engine.cluster import SimulatedCluster
from fakeai.engine.latency import Latencies
from fakeai.settings import Settings

#: Reported as ``system_fingerprint``; changes when fakeai's generation changes.
FINGERPRINT = "fp_fakeai04"


@dataclass(slots=True)
class ServerContext:
    settings: Settings
    catalog: Catalog = field(default_factory=Catalog)
    latencies: Latencies = field(init=False)
    cluster: SimulatedCluster = field(init=False)

    def __post_init__(self) -> None:
        self.latencies = Latencies(self.settings)
        self.cluster = SimulatedCluster(self.settings)
