"""KV-cache events: every block the simulated prefix cache stores or evicts, published as vLLM does.

With ``--kv-events ENDPOINT`` each worker process BINDs a ZMQ PUB socket at ``ENDPOINT`` (as vLLM's
``ZmqEventPublisher`` does; ``zmq://host:port`` is read as ``tcp://host:port``) and sends multipart
messages ``[topic, seq, payload]``: ``topic`` is empty (vLLM's default), ``seq`` an 8-byte big-endian
counter, ``payload`` a msgpack ``KVEventBatch`` ``[ts, events, data_parallel_rank]`` whose events are
vLLM's tagged arrays ``["BlockStored", block_hashes, parent_block_hash, token_ids, block_size,
lora_id, medium]`` and ``["BlockRemoved", block_hashes, medium]`` (``medium`` is ``"GPU"``).

Where the events come from: the Rust cluster records them while routing (only when enabled) and this
publisher drains them a few milliseconds after a request, so requests arriving together share a batch.

Which engine a block lives on: a KV-aware router must know it. With ``--data-parallel-size N`` rank
``k`` binds the endpoint's port + ``k`` (as vLLM's data-parallel engines do). Inside a rank the
``--kv-workers`` simulated workers are reported as data-parallel ranks: simulated worker ``i`` of rank
``k`` publishes with ``data_parallel_rank = k * kv_workers + i`` (0 with one worker and one rank, as
vLLM without data parallelism); a model the engine model times reports its replicas the same way (replica
``i`` of rank ``k`` is ``data_parallel_rank = k * kv_workers + i``, its blocks from the engine's prefix
caches). Run ``--kv-workers 1`` for the plain one-engine picture. Each
granian worker process simulates its own cluster and a PUB socket cannot share a bound port, so
``--kv-events`` needs ``--workers 1``.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import msgspec

from fakeai.extras import require
from fakeai.settings import Settings

#: Milliseconds' worth of events go out in one batch.
FLUSH_S = 0.005
MEDIUM = "GPU"

_ENDPOINT = re.compile(r"^(tcp|zmq)://(?P<host>[^:/]+):(?P<port>\d{1,5})$|^(ipc|inproc)://.+$")


class EventBatch(msgspec.Struct, array_like=True, omit_defaults=True, gc=False):
    ts: float
    events: list[Any]
    data_parallel_rank: int | None = None


class KVCacheEvent(msgspec.Struct, array_like=True, omit_defaults=True, gc=False, tag=True):
    """Base of vLLM's KV-cache events (``vllm/distributed/kv_events.py``)."""


class BlockStored(KVCacheEvent):
    block_hashes: list[int]
    parent_block_hash: int | None
    token_ids: list[int]
    block_size: int
    lora_id: int | None
    medium: str | None


class BlockRemoved(KVCacheEvent):
    block_hashes: list[int]
    medium: str | None


class AllBlocksCleared(KVCacheEvent):
    pass


class KVEventBatch(EventBatch):
    events: list[BlockStored | BlockRemoved | AllBlocksCleared]


def check_endpoint(settings: Settings) -> None:
    """Raise ValueError for an unusable ``--kv-events`` setting (MissingExtra without pyzmq)."""
    m = _ENDPOINT.match(settings.kv_events)
    if m is None:
        raise ValueError(
            "--kv-events / FAKEAI_KV_EVENTS must be tcp://HOST:PORT (or zmq://, ipc://), "
            f"got {settings.kv_events!r}"
        )
    if m["port"] is not None and not 0 < int(m["port"]) + settings.data_parallel_size - 1 <= 65535:
        raise ValueError(f"--kv-events port out of range: {settings.kv_events!r}")
    if settings.workers > 1:
        raise ValueError(
            "--kv-events needs --workers 1: each worker process simulates its own prefix cache and "
            "cannot bind the same endpoint"
        )
    require("zmq")


def endpoint_of(settings: Settings) -> str:
    """The endpoint this rank binds: tcp port + data-parallel rank, as vLLM offsets it."""
    m = _ENDPOINT.match(settings.kv_events)
    assert m is not None, "validated by check_endpoint"
    if m["port"] is None:
        return settings.kv_events
    return f"tcp://{m['host']}:{int(m['port']) + settings.data_parallel_rank}"


class KvEventPublisher:
    """Drains a ``_core.Cluster``'s KV events and publishes them; :meth:`wake` after each request."""

    def __init__(self, settings: Settings, core: Any) -> None:
        check_endpoint(settings)
        zmq = require("zmq")
        self.core = core
        self.block_size = settings.kv_block_size
        self.rank_base = settings.data_parallel_rank * settings.kv_workers
        self.socket = zmq.Context.instance().socket(zmq.PUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(endpoint_of(settings))
        self.encoder = msgspec.msgpack.Encoder()
        self.seq = 0
        self.pending = False

    def wake(self) -> None:
        """Publish whatever the cluster recorded, shortly (requests close together share a batch)."""
        if not self.pending:
            self.pending = True
            asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        self.pending = False
        by_worker: dict[int, list[BlockStored | BlockRemoved | AllBlocksCleared]] = {}
        for worker, hashes, parent, tokens in self.core.drain_events():
            event = (
                BlockRemoved(hashes, MEDIUM)
                if tokens is None
                else BlockStored(hashes, parent, tokens, self.block_size, None, MEDIUM)
            )
            by_worker.setdefault(worker, []).append(event)
        now = time.time()
        for worker, events in by_worker.items():
            self.publish(KVEventBatch(now, events, self.rank_base + worker))

    def publish(self, batch: KVEventBatch) -> None:
        self.socket.send_multipart((b"", self.seq.to_bytes(8, "big"), self.encoder.encode(batch)), copy=False)
        self.seq += 1

    def close(self) -> None:
        self.socket.close(0)
