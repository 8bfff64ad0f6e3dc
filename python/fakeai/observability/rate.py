"""A per-second rate of a server-wide total, for gauges that report throughput (DCGM's GPU load,
SGLang's ``gen_throughput``).

Each worker keeps only its previous reading of the shared total; the rate is the growth between two
readings at least :data:`WINDOW` seconds apart (readings closer than that give the last rate again).
"""

from __future__ import annotations

import time

#: Shortest span a rate is measured over, seconds.
WINDOW = 0.5


class Rate:
    def __init__(self) -> None:
        self._last = (time.monotonic(), 0)
        self._rate = 0.0

    def per_second(self, total: int) -> float:
        now = time.monotonic()
        then, before = self._last
        if now - then >= WINDOW:
            self._rate = max(0, total - before) / (now - then)
            self._last = (now, total)
        return self._rate
