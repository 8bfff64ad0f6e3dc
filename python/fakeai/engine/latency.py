"""Simulated latency: the time to first token, inter-token latency and their spread, in seconds."""

from __future__ import annotations

from dataclasses import dataclass

from fakeai.settings import Settings


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    ttft: float
    itl: float
    jitter: float

    @classmethod
    def from_settings(cls, settings: Settings) -> LatencyProfile:
        return cls(settings.ttft_ms / 1000.0, settings.itl_ms / 1000.0, settings.jitter)
