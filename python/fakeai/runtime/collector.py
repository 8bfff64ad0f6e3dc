"""The cyclic garbage collector of a worker process, set for a server's allocation pattern.

A request allocates a few dozen short-lived containers (scope and message dicts, coroutines, closures)
that reference counting frees at once; CPython's collector still runs a young-generation pass every
700 container allocations, i.e. every few requests, and each pass, and every older-generation pass,
walks objects that live as long as the process (the app, its routes, the imported modules). Under
load that was about 7% of a worker's CPU. So, once the app is built, each worker:

1. collects once and freezes what survives (``gc.freeze``): the long-lived objects leave the
   collector's generations and are never walked again;
2. runs the young-generation pass every :data:`YOUNG_THRESHOLD` allocations instead of 700: the
   rare reference cycles a request leaves (an exception and its traceback) are still collected, a
   little later.
"""

from __future__ import annotations

import gc

#: Container allocations (net of frees) between two young-generation collections.
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Freeze the objects built so far and space out the young-generation collections."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
