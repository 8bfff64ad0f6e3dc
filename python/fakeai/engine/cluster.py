"""The simulated inference cluster of one worker process, and the server-wide counters it feeds.

``fakeai._core.Cluster`` (Rust) holds ``--kv-workers`` simulated workers, each with a radix-tree prefix
cache of ``--kv-cache-blocks`` blocks of ``--kv-block-size`` tokens and ``--kv-batch-size`` batch
slots, behind a KV-aware router weighing cached overlap (``--kv-overlap-weight``) against load
(``--kv-load-weight``). With ``--kv-prefill-workers N`` it is disaggregated: N prefill workers (caches,
routing, the time to first token) in front of the ``--kv-workers`` decode workers. The cluster is
passed into ``_core.chat`` / ``_core.completion``, so routing, the cache lookup, queueing and rendering
stay one core call per request. It is per process (each granian worker simulates its own copy); its
counters also go to the server's shared table, so they are server-wide. It serves the requests with
fixed timing; a request the engine model times is routed by the engine's own prefix caches instead, one
per replica and shared by every worker (:mod:`fakeai.engine.deployment`), and only counted here
(``cluster|requests``, ``query_tokens``, ``hit_tokens``, ``hit_requests``, ``evicted_blocks``).

Reading the state (for ``/kv-cache/metrics``, ``/dynamo/metrics`` and the main metrics):

- :meth:`SimulatedCluster.snapshot` — this process's cluster now::

      {"block_size": 16, "batch_size": 256, "pid": 1234,
       "workers": [{"worker": 0, "role": "aggregated", "active": 3, "queued": 0, "blocks_used": 120,
                    "blocks_capacity": 16384, "requests": 10, "queued_requests": 0,
                    "query_tokens": 4000, "hit_tokens": 2048, "hit_requests": 4, "evicted_blocks": 0}, ...],
       "totals": {the same keys summed over workers}}

- :meth:`SimulatedCluster.counters` — server-wide counters, from the shared table ``cluster``
  (:data:`COUNTERS`, each key ``cluster|<name>``; per simulated worker ``cluster|w<i>|requests`` and
  ``cluster|w<i>|hit_tokens``), and :meth:`SimulatedCluster.histogram` for the histograms
  ``cluster|<name>_seconds`` of :data:`HISTOGRAMS` (``_core.HISTOGRAM_BOUNDS`` buckets; the table's
  ``histogram``/``quantile`` methods read them). Open the table with :func:`open_cluster_table`.
"""

from __future__ import annotations

import os
import time
from typing import Any, TypedDict

from fakeai import _core
from fakeai.engine import pacing
from fakeai.engine.deployment import ENGINE_TICKET, Engines
from fakeai.engine.kv_events import KvEventPublisher
from fakeai.errors import ApiError
from fakeai.http.asgi import Receive, Send
from fakeai.observability.engine import ModelGauges
from fakeai.observability.snapshot import Snapshot
from fakeai.runtime import shared
from fakeai.settings import Settings

TABLE = "cluster"
#: Server-wide counters, at ``cluster|<name>`` (word 0).
COUNTERS = (
    "requests",
    "queued_requests",
    "query_tokens",
    "hit_tokens",
    "hit_requests",
    "evicted_blocks",
    "output_tokens",
    "released_early",
)
#: Server-wide histograms of simulated durations, at ``cluster|<name>_seconds``.
HISTOGRAMS = ("queue", "prefill", "ttft", "itl", "tpot", "decode", "e2e")


class ClusterSnapshot(TypedDict):
    """What :meth:`SimulatedCluster.snapshot` returns (see the module's docstring)."""

    block_size: int
    batch_size: int
    pid: int
    workers: list[dict[str, Any]]
    totals: dict[str, int]


def open_cluster_table(settings: Settings) -> _core.SharedTable:
    """The shared table the cluster counts into (same sizes in every process)."""
    workers = settings.kv_workers + settings.kv_prefill_workers
    return shared.open_table(TABLE, 64 + 4 * workers, _core.HISTOGRAM_WIDTH)


class SimulatedCluster:
    def __init__(self, settings: Settings, ticker: pacing.Ticker, engines: Engines) -> None:
        self.table = open_cluster_table(settings)
        self.core = _core.Cluster(
            settings.kv_workers,
            block_size=settings.kv_block_size,
            cache_blocks=settings.kv_cache_blocks,
            batch_size=settings.kv_batch_size,
            overlap_weight=settings.kv_overlap_weight,
            load_weight=settings.kv_load_weight,
            prefill_workers=settings.kv_prefill_workers,
            table=self.table,
            kv_events=bool(settings.kv_events),
            max_num_seqs=settings.max_num_seqs,
            max_waiting=settings.max_waiting_queue_length,
            time_factor=settings.time_factor_under_load,
        )
        #: ``--max-waiting-queue-length``: requests are admitted (:meth:`admit`) before they run.
        self.bounded = settings.max_waiting_queue_length is not None
        #: ``--max-num-seqs``: the engine gauges report the scheduler's running / waiting requests.
        self.scheduled = settings.max_num_seqs > 0 or self.bounded
        self.ticker = ticker
        self.settings = settings
        #: The engine model's engines (requests it times hold an engine ticket, not a batch slot).
        self.engines = engines
        #: ``--kv-events``: publishes what the prefix cache stores and evicts (see engine.kv_events).
        self.kv_events = KvEventPublisher(settings, self.core) if settings.kv_events else None

    def admit(self, now: float) -> None:
        """Refuse a request (503, as an overloaded engine) when the waiting queue is full."""
        if not self.core.admit(now):
            raise ApiError(
                503,
                "The engine is currently overloaded, please try again later: the waiting queue is full "
                f"(--max-waiting-queue-length {self.settings.max_waiting_queue_length}).",
                type="server_error",
                code="overloaded",
            )

    async def respond(
        self,
        receive: Receive,
        send: Send,
        answer: _core.Answer,
        start: float,
        body_send: Send | None = None,
        payload: bytes | list[bytes] | None = None,
    ) -> None:
        """Send a rendered answer on its schedule; free its batch slot (or its engine sequence) if its
        client leaves early. ``body_send``: what a stream's body may be written through (see
        :func:`fakeai.http.asgi.body_send`); ``payload``: what to send instead of the answer's own
        body or steps (the same answer in another API's shape, one step for each of the answer's)."""
        if self.kv_events is not None:
            self.kv_events.wake()
        done = False
        engine = answer.ticket & ENGINE_TICKET and self.engines.for_ticket(answer.ticket)
        settle = (engine, answer.ticket, answer) if engine else None
        try:
            done = await pacing.respond(
                receive,
                send,
                answer.payload if payload is None else payload,
                answer.schedule,
                start,
                self.ticker,
                settle,
                body_send,
            )
        finally:
            if not done:
                self.release(answer)

    def release(self, answer: _core.Answer) -> None:
        """Free the batch slot (or the engine sequence) of an answer that will not be sent in full."""
        if answer.ticket & ENGINE_TICKET:
            self.engines.cancel(answer.ticket)
        elif answer.ticket:
            self.core.release(answer.ticket, time.monotonic())

    def snapshot(self) -> ClusterSnapshot:
        workers = self.core.workers(time.monotonic())
        totals: dict[str, int] = {}
        for i, w in enumerate(workers):
            for key, value in w.items():
                if key != "role":
                    totals[key] = totals.get(key, 0) + value
            w["worker"] = i
        return {
            "block_size": self.core.block_size,
            "batch_size": self.core.batch_size,
            "pid": os.getpid(),
            "workers": workers,
            "totals": totals,
        }

    def replica_workers(self) -> list[dict[str, Any]]:
        """The engine model's replicas, as the Dynamo views' workers (``worker`` is
        ``"<architecture>/<replica>"``): server-wide figures, the same from any worker process.
        ``active``/``queued`` are the replica's running and waiting sequences, ``blocks_used`` and
        ``blocks_capacity`` its prefix cache's blocks, ``kv_blocks_used``/``kv_blocks``/``kv_usage``
        the KV blocks its sequences hold, and the counters are its prefix cache's."""
        now = time.monotonic()
        workers: list[dict[str, Any]] = []
        for arch, engine in sorted(self.engines.opened().items()):
            for i, r in enumerate(engine.replicas(now)):
                workers.append(
                    {
                        "worker": f"{arch}/{i}",
                        "role": "aggregated",
                        "architecture": arch,
                        "replica": i,
                        "active": r["running"],
                        "queued": r["waiting"],
                        "blocks_used": r["prefix_blocks"],
                        "blocks_capacity": r["prefix_capacity"],
                        "kv_blocks_used": r["kv_blocks_used"],
                        "kv_blocks": r["kv_blocks"],
                        "kv_usage": r["kv_usage"],
                        **{k: r[k] for k in ("requests", "query_tokens", "hit_tokens", "hit_requests")},
                        "evicted_blocks": r["evicted_blocks"],
                    }
                )
        return workers

    def cluster_used(self) -> bool:
        """Whether any worker process routed a request through its own cluster (fixed timing)."""
        workers = self.settings.kv_workers + self.settings.kv_prefill_workers
        return any(self.worker_counters(w)["requests"] for w in range(workers))

    def counters(self) -> dict[str, int]:
        return {name: (self.table.get(f"{TABLE}|{name}") or [0])[0] for name in COUNTERS}

    def worker_counters(self, worker: int) -> dict[str, int]:
        names = ("requests", "hit_tokens")
        return {name: (self.table.get(f"{TABLE}|w{worker}|{name}") or [0])[0] for name in names}

    def histogram(self, name: str) -> tuple[int, float, list[int]]:
        """``(count, sum_seconds, per-bucket counts + [+Inf])`` of ``cluster|<name>_seconds``."""
        empty = (0, 0.0, [0] * (len(_core.HISTOGRAM_BOUNDS) + 1))
        return self.table.histogram(f"{TABLE}|{name}_seconds") or empty

    def quantile(self, name: str, q: float) -> float:
        return self.table.quantile(f"{TABLE}|{name}_seconds", q)

    def engine_gauges(self, snapshot: Snapshot) -> dict[str, ModelGauges]:
        """The metrics' engine gauges (:class:`fakeai.observability.engine.EngineGauges`) from the
        simulated cluster. A vLLM server serves one model, and fakeai's cluster is shared by every model
        it serves, so each model label gets the cluster's figures: ``running`` is the model's requests
        in flight (server-wide), ``waiting`` the requests queued for a batch slot, ``kv_cache_usage``
        the fraction of prefix-cache blocks in use (both from this worker process's cluster), and the
        prefix-cache hits/queries (tokens) are server-wide totals. With scheduler limits
        (``--max-num-seqs``, ``--max-waiting-queue-length``) ``running`` and ``waiting`` are the
        scheduler's: requests holding a slot and requests queued for one, of this process's cluster
        (exact with ``--workers 1``). A model the engine model times gets its engine's figures instead
        (server-wide: the engine is shared by every worker): running and waiting sequences, KV blocks in
        use, its replicas' prefix-cache hits and queries, preemptions and the iteration-tokens
        histogram."""
        totals = self.snapshot()["totals"]
        scheduler = self.core.load(time.monotonic()) if self.scheduled else None
        capacity = totals.get("blocks_capacity", 0)
        usage = totals.get("blocks_used", 0) / capacity if capacity else 0.0
        counters = self.counters()
        gauges = {}
        now = time.monotonic()
        for name, m in snapshot.models.items():
            engine = self.engines.for_model(name)
            if engine is not None:
                status = engine.status(now)
                gauges[name] = ModelGauges(
                    running=status["running"],
                    waiting=status["waiting"],
                    kv_cache_usage=status["kv_usage"],
                    prefix_cache_hits=status["prefix_cache_hits"],
                    prefix_cache_queries=status["prefix_cache_queries"],
                    preemptions=status["preemptions"],
                    iteration_tokens=(*status["iteration_tokens"], status["scheduled_tokens"]),
                )
                continue
            gauges[name] = ModelGauges(
                running=m.running if scheduler is None else scheduler[0],
                waiting=totals.get("queued", 0) if scheduler is None else scheduler[1],
                kv_cache_usage=usage,
                prefix_cache_hits=counters["hit_tokens"],
                prefix_cache_queries=counters["query_tokens"],
            )
        return gauges
