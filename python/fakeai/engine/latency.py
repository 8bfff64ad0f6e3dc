"""The timing a request is simulated with: its model's profile, the operator's settings, its headers.

Precedence, lowest first:

1. the model's profile (:mod:`fakeai.engine.profiles`): base TTFT + prefill time per *uncached* prompt
   token, ITL and spread; ``--prefill-overhead-ms`` / ``--prefill-time-per-token-us`` replace the
   profile's two prefill terms for every model;
2. ``--ttft`` / ``--itl`` / ``--jitter`` (``FAKEAI_TTFT_MS`` ...), when set: ``--ttft`` fixes the time
   to first token for every model (the prefill-per-token term is then dropped, so the TTFT is exactly
   what was asked for), ``--itl`` the inter-token latency, ``--jitter`` the spread;
3. the request's ``x-fakeai-ttft-ms`` / ``x-fakeai-itl-ms`` headers (:mod:`fakeai.gateway.overrides`),
   which do the same for one request.

Queueing for a batch slot (``--kv-batch-size``) comes on top of all of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fakeai.engine import profiles
from fakeai.settings import Settings

if TYPE_CHECKING:
    from fakeai.gateway.overrides import Overrides


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """Seconds: base time to first token, per uncached prompt token, between tokens; relative spread."""

    ttft: float
    prefill_per_token: float
    itl: float
    jitter: float


class Latencies:
    """Resolves (and caches per model id) the timing of requests, per the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.by_model: dict[str, LatencyProfile] = {}

    def for_model(self, model: str) -> LatencyProfile:
        lat = self.by_model.get(model)
        if lat is None:
            lat = self.by_model[model] = self._resolve(model)
        return lat

    def for_request(self, model: str, overrides: Overrides | None) -> LatencyProfile:
        lat = self.for_model(model)
        if overrides is None or (overrides.ttft_ms is None and overrides.itl_ms is None):
            return lat
        ttft, per_token, itl = lat.ttft, lat.prefill_per_token, lat.itl
        if overrides.ttft_ms is not None:
            ttft, per_token = overrides.ttft_ms / 1000.0, 0.0
        if overrides.itl_ms is not None:
            itl = overrides.itl_ms / 1000.0
        return LatencyProfile(ttft, per_token, itl, lat.jitter)

    def _resolve(self, model: str) -> LatencyProfile:
        p = profiles.lookup(model)
        s = self.settings
        ttft, per_token = p.ttft_ms / 1000.0, p.prefill_us_per_token / 1e6
        if s.prefill_overhead_ms is not None:
            ttft = s.prefill_overhead_ms / 1000.0
        if s.prefill_time_per_token_us is not None:
            per_token = s.prefill_time_per_token_us / 1e6
        if s.ttft_ms is not None:
            ttft, per_token = s.ttft_ms / 1000.0, 0.0
        itl = p.itl_ms / 1000.0 if s.itl_ms is None else s.itl_ms / 1000.0
        jitter = p.jitter if s.jitter is None else s.jitter
        return LatencyProfile(ttft, per_token, itl, jitter)
