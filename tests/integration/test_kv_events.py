"""KV-cache events (``--kv-events``): a real ZMQ SUB socket reads what the prefix cache stores and evicts."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import msgspec
import pytest
import zmq

from fakeai.engine.kv_events import BlockRemoved, BlockStored, KVEventBatch
from fakeai.runtime.process import free_port, free_port_pair, run_fakeai, running_server

pytestmark = pytest.mark.integration

BLOCK = 16


@pytest.fixture
def subscriber() -> Iterator[Callable[[int], zmq.Socket]]:
    """Opens SUB sockets on a port, closing them when the test ends."""
    opened: list[zmq.Socket] = []

    def connect(port: int) -> zmq.Socket:
        sub = zmq.Context.instance().socket(zmq.SUB)
        opened.append(sub)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(f"tcp://127.0.0.1:{port}")
        return sub

    yield connect
    for sub in opened:
        sub.close()


def collect(sub: zmq.Socket, seconds: float = 0.5) -> list[tuple[int, KVEventBatch]]:
    decoder = msgspec.msgpack.Decoder(KVEventBatch)
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sub.poll(int(left * 1000)):
            topic, seq, payload = sub.recv_multipart()
            assert topic == b"" and len(seq) == 8
            out.append((int.from_bytes(seq, "big"), decoder.decode(payload)))
    return out


def complete(http: httpx.Client, prompt: list[int]) -> None:
    r = http.post("/v1/completions", json={"model": "m", "prompt": prompt, "max_tokens": 1})
    assert r.status_code == 200, r.text


def test_stored_blocks_chain_and_evictions_are_published(subscriber):
    port = free_port()
    flags = ("--ttft", "0", "--itl", "0", "--kv-workers", "1", "--kv-cache-blocks", "8")
    with running_server(*flags, "--kv-events", f"tcp://127.0.0.1:{port}") as url:
        sub = subscriber(port)
        prefix = list(range(1000, 1000 + 4 * BLOCK))  # four shared blocks
        with httpx.Client(base_url=url, timeout=10) as http:
            # PUB drops messages until the subscription has arrived: prime until one batch comes through.
            for attempt in range(50):
                complete(http, [7] * BLOCK + [attempt])
                if collect(sub, 0.1):
                    break
            else:
                raise AssertionError("no KV events received")
            collect(sub, 0.2)
            complete(http, prefix + list(range(5000, 5000 + 2 * BLOCK)))
            complete(http, prefix + list(range(6000, 6000 + 2 * BLOCK)) + [1, 2, 3])
            batches = collect(sub)
            kv = http.get("/kv-cache/metrics").json()
    seqs = [s for s, _ in batches]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    events = [e for _, b in batches for e in b.events]
    assert all(b.data_parallel_rank == 0 and b.ts > 0 for _, b in batches)
    stored = [e for e in events if isinstance(e, BlockStored)]
    first, second = stored[0], stored[1]
    # First prompt: 6 full blocks, chained from the root, token ids are the prompt's.
    assert len(first.block_hashes) == 6 and first.parent_block_hash is None
    assert first.token_ids == prefix + list(range(5000, 5000 + 2 * BLOCK))
    assert first.block_size == BLOCK and first.lora_id is None and first.medium == "GPU"
    # Second prompt shares the 4-block prefix: only its 2 new blocks are stored, under block 4.
    assert second.parent_block_hash == first.block_hashes[3]
    assert second.token_ids == list(range(6000, 6000 + 2 * BLOCK))
    assert len(second.block_hashes) == 2 and not set(second.block_hashes) & set(first.block_hashes)
    # The cache holds 8 blocks: storing 2 more evicted the priming blocks first.
    removed = [h for e in events if isinstance(e, BlockRemoved) for h in e.block_hashes]
    assert removed and not set(removed) & set(first.block_hashes + second.block_hashes)
    assert kv["blocks_used"] <= 8 and kv["evicted_blocks"] >= len(removed)


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--kv-events", "localhost:5557"], "--kv-events"),
        (["--kv-events", "tcp://127.0.0.1:99999"], "--kv-events"),
        (["--kv-events", "tcp://127.0.0.1:5557", "--workers", "2"], "--workers 1"),
    ],
)
def test_bad_kv_events_endpoint_is_a_clear_startup_error(flags, needle):
    r = run_fakeai("server", *flags)
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr


def test_data_parallel_rank_k_publishes_on_port_plus_k(subscriber):
    port, kv_port = free_port_pair(), free_port_pair()
    flags = ("--ttft", "0", "--itl", "0", "--kv-workers", "2", "--data-parallel-size", "2")
    with running_server(*flags, "--kv-events", f"tcp://127.0.0.1:{kv_port}", port=port):
        sub = subscriber(kv_port + 1)
        rank1 = f"http://127.0.0.1:{port + 1}"
        deadline = time.monotonic() + 20
        with httpx.Client(base_url=rank1, timeout=10) as http:
            # A new prompt each time: the events sent before the subscription arrived are lost.
            for attempt in range(1, 10_000):
                try:
                    complete(http, [attempt] * 2 * BLOCK)
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "rank 1 did not start"
                    time.sleep(0.1)
                    continue
                if batches := collect(sub, 0.1):
                    break
                assert time.monotonic() < deadline, "no KV events from rank 1"
    # Rank 1's simulated workers 0 and 1 are data-parallel ranks 2 and 3.
    assert {b.data_parallel_rank for _, b in batches} <= {2, 3}
    stored = [e for _, b in batches for e in b.events if isinstance(e, BlockStored)]
    assert stored and len(stored[0].token_ids) == 2 * BLOCK and len(set(stored[0].token_ids)) == 1


def engine_gauges(http: httpx.Client) -> str:
    return http.get("/metrics", headers={"accept": "text/plain"}).text


def test_an_engine_timed_model_publishes_its_replicas_prefix_caches(subscriber):
    port = free_port()
    flags = ("--replicas", "2", "--kv-events", f"tcp://127.0.0.1:{port}")
    with running_server(*flags) as url, httpx.Client(base_url=url, timeout=30) as http:
        sub = subscriber(port)

        def complete_engine(prompt: list[int]) -> None:
            body = {"model": "meta-llama/Llama-3.1-8B-Instruct", "prompt": prompt, "max_tokens": 1}
            assert http.post("/v1/completions", json=body).status_code == 200

        for attempt in range(50):
            complete_engine([7] * BLOCK + [attempt])
            if collect(sub, 0.1):
                break
        else:
            raise AssertionError("no KV events received")
        collect(sub, 0.2)
        prefix = list(range(1000, 1000 + 4 * BLOCK))
        complete_engine(prefix + [1])
        # The answer can leave before the engine's step ends; while the first request still runs, its
        # blocks count as load on its replica and may outweigh the prefix: wait for the engine to idle.
        deadline = time.monotonic() + 5
        while not re.search(r"^vllm:num_requests_running\{[^}]*\} 0\.0$", engine_gauges(http), re.M):
            assert time.monotonic() < deadline, "the engine never went idle"
            time.sleep(0.01)
        complete_engine(prefix + list(range(6000, 6000 + 2 * BLOCK)) + [1])
        batches = collect(sub)
    stored = [(b.data_parallel_rank, e) for _, b in batches for e in b.events if isinstance(e, BlockStored)]
    (rank, first), (again, second) = stored
    # The engine's router sent the second prompt to the replica (a data-parallel rank) holding its prefix.
    assert rank == again and rank in (0, 1)
    assert len(first.block_hashes) == 4 and first.parent_block_hash is None and first.token_ids == prefix
    assert second.parent_block_hash == first.block_hashes[3] and len(second.block_hashes) == 2
