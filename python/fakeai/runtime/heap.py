"""The garbage collector in a worker process, settled once the app is built.

A request on the hot path allocates a few dozen container objects (the ASGI scope and messages, the
decoded request, coroutines) that die with it, almost never in a cycle. CPython counts every such
allocation towards its young-generation collection (700 by default), so under load it collects every
few requests and, each time the young objects survive into the older generations, rescans the whole
heap the app built at start-up (routes, settings, the model catalog, Starlette, msgspec types).
So each worker, once its app is built:

1. collects, then **freezes** what survives (``gc.freeze()``): the start-up heap moves to a permanent
   generation that no collection scans again (it stays alive anyway, for the worker's lifetime);
2. raises the young generation's threshold to :data:`YOUNG_THRESHOLD`, so that young collections
   run about seventy times less often; the older generations keep CPython's ratios.

Cycles are still collected, only later: what one can hold is bounded by the threshold (a few
megabytes at most). ``benches/http_load.py`` measures the effect (see docs/benchmarks.md).
"""

from __future__ import annotations

import gc

#: Net container allocations between young-generation collections (CPython's default: 700).
YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Freeze the heap built so far and raise the young generation's threshold (see the module docs)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
