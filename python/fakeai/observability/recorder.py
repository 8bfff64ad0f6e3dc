"""Recording requests into the server's shared metrics table: a few Rust calls per request, no lock.

Every worker process opens the same table (``fakeai.runtime.shared.open_table``), so whichever worker serves a
scrape reports server-wide totals. A request costs three calls into the core:

* ``_core.metrics_begin`` when it arrives (in-flight + 1), from :class:`MetricsMiddleware`;
* the inference (model, prompt and completion tokens, time to first token and inter-token latency),
  recorded by the core call that renders the answer (``_core.chat`` / ``_core.completion`` given the
  :class:`~fakeai._core.Meter` of :class:`fakeai.engine.usage.UsageMeter`, with the request's usage),
  or by ``Meter.record`` for embeddings; the endpoint leaves the returned label in the scope
  (:data:`MODEL_KEY`);
* ``_core.metrics_finish`` when its response is done (status, end-to-end latency, SLO, error type),
  from :class:`MetricsMiddleware`.

Time to first token and inter-token latency come from the schedule the core computed (read by the
core itself, ``Inference::streamed``/``whole`` in ``shm/metrics.rs``), i.e. the
simulated timing the client is served on: for a stream, the first step's offset and the mean gap
between steps; for a whole answer, the profile's TTFT (capped at the total delay) and the remaining
delay spread over the other tokens. End-to-end latency is measured (arrival to last byte sent).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from fakeai import _core
from fakeai.runtime import shared
from fakeai.settings import Settings

#: Shared table name and size: entries for endpoints x statuses, error kinds and the capped models.
TABLE = "metrics"
CAPACITY = 8192

#: Scope key under which an inference endpoint leaves the model label for the metrics middleware and
#: the access log (with recording off: the model id as requested).
MODEL_KEY = "fakeai.model"


class Metrics:
    """The server's request metrics: recording (per request) and the shared table views read."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.metrics
        self.table = shared.open_table(TABLE, CAPACITY, _core.HISTOGRAM_WIDTH)
        self.slo_seconds = settings.slo_latency_ms / 1000.0
        self.max_models = settings.metrics_max_models
        self.started_at = _core.metrics_started(self.table, int(time.time() * 1000)) / 1000.0

    def uptime(self) -> float:
        return max(0.0, time.time() - self.started_at)

    @contextmanager
    def counted(self, endpoint: str, model: str) -> Iterator[Outcome]:
        """One request that no HTTP request carries to :class:`MetricsMiddleware` (a
        ``response.create`` on the Responses API's WebSocket), counted as the middleware counts the
        others: in flight for the block, then finished with the :class:`Outcome` the block left, under
        its inference's label, or as an error of ``model`` when it failed before its inference."""
        outcome = Outcome()
        if self.enabled:
            _core.metrics_begin(self.table)
        begun = time.perf_counter()
        try:
            yield outcome
        finally:
            if self.enabled:
                self._finish(endpoint, time.perf_counter() - begun, outcome, model)

    def _finish(self, endpoint: str, seconds: float, outcome: Outcome, model: str) -> None:
        try:
            label = outcome.label
            if label is None and outcome.status != 200:  # as an inference of no tokens
                label = _core.metrics_inference(self.table, model, self.max_models, 0, 0, None)
            _core.metrics_finish(
                self.table, endpoint, outcome.status, seconds, self.slo_seconds, label, outcome.error
            )
        except _core.InvalidInput:  # a full table (labels are bounded) must never fail a request
            pass


class Outcome:
    """How a request counted by :meth:`Metrics.counted` ended: the model label its inference
    counted under, its status and its error's ``(type, code)``."""

    def __init__(self) -> None:
        self.label: str | None = None
        self.status = 200
        self.error: tuple[str, str] | None = None
