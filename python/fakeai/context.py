"""What every API module needs from the running server: settings, catalog and latency profile.

Built once per worker process by :func:`fakeai.app.create_app` and handed to each module's
``routes(ctx)``; nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakeai.engine.catalog import Catalog
from fakeai.engine.latency import LatencyProfile
from fakeai.engine.usage import UsageMeter
from fakeai.settings import Settings
from fakeai.store import Store, open_store

#: Reported as ``system_fingerprint``; changes when fakeai's generation changes.
FINGERPRINT = "fp_fakeai04"


@dataclass(slots=True)
class ServerContext:
    settings: Settings
    catalog: Catalog = field(default_factory=Catalog)
    latency: LatencyProfile = field(init=False)
    store: Store = field(init=False)
    usage: UsageMeter = field(init=False)

    def __post_init__(self) -> None:
        self.latency = LatencyProfile.from_settings(self.settings)
        self.store = open_store(self.settings.data_dir)
        self.usage = UsageMeter()
