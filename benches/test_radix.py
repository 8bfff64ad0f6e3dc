"""The prefix-cache radix tree: match + insert of 2k-token prompts, Rust against pure Python.

    pytest benches/test_radix.py --benchmark-enable --benchmark-group-by=group

Both trees have the design of rust/fakeai_core/src/simulation/radix.rs: one node per 16-token block keyed by its
chained hash, every walked node touched with the request's tick, and least-recently-used leaves evicted
first once the capacity is reached. The workload: 64 prompts of 2,048 tokens (128 blocks) sharing a
1,024-token system prompt, in a tree of 2,048 blocks, so the steady state both hits (the shared
prefix, recent prompts) and evicts. Each round looks a prompt up and then caches it, as routing does.
Both implementations must report the same matched-block counts.
"""

from __future__ import annotations

import heapq
import random
from itertools import count

import pytest

from fakeai import _core

BLOCK = 16
CAPACITY = 2048


def workload() -> list[list[int]]:
    rng = random.Random(7)
    shared = [rng.randrange(100_000) for _ in range(1024)]
    prompts = [shared + [rng.randrange(100_000) for _ in range(1024)] for _ in range(64)]
    return [_core.block_hashes(p, BLOCK) for p in prompts]


HASHES = workload()
ORDER = [random.Random(k).randrange(len(HASHES)) for k in range(4096)]


class PyRadixTree:
    """Pure-Python twin of ``RadixTree`` (a heap with lazy deletion stands in for the ordered set)."""

    def __init__(self, capacity: int) -> None:
        # node: [hash, parent, depth, tick, children]
        self.nodes: list[list] = [[0, 0, 0, 0, {}]]
        self.free: list[int] = []
        self.lru: list[tuple[int, int, int]] = []
        self.size = 0
        self.capacity = capacity
        self.tick = 0

    def matched(self, hashes: list[int]) -> int:
        children = self.nodes[0][4]
        for i, h in enumerate(hashes):
            child = children.get(h)
            if child is None:
                return i
            children = self.nodes[child][4]
        return len(hashes)

    def insert(self, hashes: list[int]) -> int:
        self.tick += 1
        tick, nodes, matched, node = self.tick, self.nodes, 0, 0
        for h in hashes[: self.capacity]:
            child = nodes[node][4].get(h)
            if child is not None:
                nodes[child][3] = tick
                heapq.heappush(self.lru, (tick, -nodes[child][2], child))
                matched += 1
                node = child
                continue
            if self.size >= self.capacity:
                self._evict_one()
            node = self._add_child(node, h)
        return matched

    def _add_child(self, parent: int, h: int) -> int:
        entry = [h, parent, self.nodes[parent][2] + 1, self.tick, {}]
        if self.free:
            node = self.free.pop()
            self.nodes[node] = entry
        else:
            node = len(self.nodes)
            self.nodes.append(entry)
        self.nodes[parent][4][h] = node
        heapq.heappush(self.lru, (self.tick, -entry[2], node))
        self.size += 1
        return node

    def _evict_one(self) -> None:
        while True:
            tick, neg_depth, node = heapq.heappop(self.lru)
            entry = self.nodes[node]
            if entry is not None and entry[3] == tick and entry[2] == -neg_depth:
                break  # a live entry (stale ones are older touches of the same node)
        h, parent = entry[0], entry[1]
        del self.nodes[parent][4][h]
        self.nodes[node] = None
        self.free.append(node)
        self.size -= 1


def run(tree, rounds: count) -> list[int]:
    """Look up and cache the next 64 prompts of the workload; the matched block counts."""
    out = []
    for _ in range(64):
        hashes = HASHES[ORDER[next(rounds) % len(ORDER)]]
        out.append(tree.matched(hashes))
        tree.insert(hashes)
    return out


class RustTree:
    def __init__(self, capacity: int) -> None:
        self.cache = _core.PrefixCache(capacity)

    def matched(self, hashes: list[int]) -> int:
        return self.cache.matched(hashes)

    def insert(self, hashes: list[int]) -> int:
        return self.cache.insert(hashes)[0]


def reference() -> list[int]:
    """Matched counts of the first 64 rounds, which both trees must reproduce."""
    return run(PyRadixTree(CAPACITY), count())


@pytest.mark.benchmark(group="radix match+insert, 64 prompts of 2k tokens")
def test_radix_rust(benchmark):
    assert run(RustTree(CAPACITY), count()) == reference()
    tree, rounds = RustTree(CAPACITY), count()
    benchmark(run, tree, rounds)
    assert len(tree.cache) <= CAPACITY


@pytest.mark.benchmark(group="radix match+insert, 64 prompts of 2k tokens")
@pytest.mark.reference
def test_radix_python(benchmark):
    expected = reference()
    assert any(expected) and not all(m == 128 for m in expected)
    tree, rounds = PyRadixTree(CAPACITY), count()
    benchmark(run, tree, rounds)
    assert tree.size <= CAPACITY
