"""The one metrics system: request recording into the Rust core's shared table, and its views
(JSON summary, Prometheus exposition with fakeai and vLLM names, CSV, simulated DCGM telemetry)."""

from fakeai.observability.engine import EngineGauges, ModelGauges, counted_gauges
from fakeai.observability.middleware import MetricsMiddleware
from fakeai.observability.recorder import Metrics
from fakeai.observability.snapshot import Snapshot

__all__ = ["EngineGauges", "Metrics", "MetricsMiddleware", "ModelGauges", "Snapshot", "counted_gauges"]
