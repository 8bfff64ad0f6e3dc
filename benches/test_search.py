"""Vector-store search: the Rust ``top_k`` against a pure-Python ranking of the same matrix.

    pytest benches/test_search.py --benchmark-enable --benchmark-group-by=group

Both rank 1000 chunks (256-dimension embeddings) against one query and must agree on the top ten.
"""

from __future__ import annotations

import heapq
from array import array

import pytest

from fakeai import _core

DIMS = 256
WORDS = [
    "borrow",
    "checker",
    "memory",
    "safety",
    "sourdough",
    "starter",
    "oven",
    "geese",
    "migrate",
    "magnetic",
    "field",
    "cargo",
    "crate",
]
CHUNKS = [
    " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(i % 9 + 3)) + f" item {i}" for i in range(1000)
]
MATRIX = _core.embedding_matrix(CHUNKS, DIMS)
QUERY = "how does the borrow checker give memory safety"


def py_top_k(query: str, matrix: bytes, dims: int, k: int) -> list[tuple[int, float]]:
    q = array("f", _core.embedding_matrix([query], dims))
    rows = array("f", matrix)
    scores = (
        (i, sum(x * y for x, y in zip(rows[i * dims : (i + 1) * dims], q, strict=True)))
        for i in range(len(rows) // dims)
    )
    return heapq.nlargest(k, scores, key=lambda s: s[1])


@pytest.mark.benchmark(group="top_k")
def test_top_k_rust(benchmark):
    best = benchmark(_core.top_k, QUERY, MATRIX, DIMS, 10)
    assert [i for i, _ in best] == [i for i, _ in py_top_k(QUERY, MATRIX, DIMS, 10)]


@pytest.mark.benchmark(group="top_k")
@pytest.mark.reference
def test_top_k_python(benchmark):
    best = benchmark(py_top_k, QUERY, MATRIX, DIMS, 10)
    assert [i for i, _ in best] == [i for i, _ in _core.top_k(QUERY, MATRIX, DIMS, 10)]
