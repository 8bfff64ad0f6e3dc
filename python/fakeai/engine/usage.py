"""What the server served, per minute, API kind and model, counted in shared memory for the usage and
costs endpoints.

Every answer the engine renders (live, batched, Responses, Realtime) adds its tokens to one entry of a
shared table keyed ``kind|minute|model``: relaxed atomic adds in the Rust core, no lock, no write to
disk, the same totals whichever worker answers. The table holds ``CAPACITY`` entries (some weeks of
minutes for a handful of models); once full, further usage is not counted (``dropped``).

The recording is the core's :class:`~fakeai._core.Meter` (:attr:`UsageMeter.core`), which the
generating calls take as an argument: a chat or text completion records its usage (and, on the live
path, its inference metrics) inside the one core call that renders it, not in calls of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakeai import _core
from fakeai.engine.catalog import SNAPSHOT
from fakeai.runtime import shared

if TYPE_CHECKING:
    from fakeai.observability.recorder import Metrics

CAPACITY = 32_768
#: Words per entry: input tokens, output tokens, cached input tokens, requests.
INPUT, OUTPUT, CACHED, REQUESTS = range(4)
WIDTH = 4

#: USD per million (input, output) tokens; models not listed cost ``DEFAULT_PRICE``.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.4),
    "gpt-5-chat-latest": (1.25, 10.0),
    "gpt-5.1": (1.25, 10.0),
    "gpt-5.2": (1.75, 14.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-3.5-turbo": (0.5, 1.5),
    "gpt-3.5-turbo-instruct": (1.5, 2.0),
    "o1": (15.0, 60.0),
    "o3": (2.0, 8.0),
    "o3-mini": (1.1, 4.4),
    "o4-mini": (1.1, 4.4),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "text-embedding-ada-002": (0.1, 0.0),
}
DEFAULT_PRICE = (0.5, 1.5)


def price(model: str) -> tuple[float, float]:
    """USD per million (input, output) tokens; a fine-tuned model costs what its base model does, a
    dated snapshot (``gpt-5-2025-08-07``) what its model does."""
    base = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model
    return PRICES.get(base) or PRICES.get(SNAPSHOT.sub("", base), DEFAULT_PRICE)


class UsageMeter:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self.table = shared.open_table("org_usage", CAPACITY, WIDTH)
        #: Records usage, and with ``metrics`` (recording on) the live requests' inference metrics.
        self.core = _core.Meter(
            self.table,
            metrics.table if metrics is not None and metrics.enabled else None,
            metrics.max_models if metrics is not None else 0,
        )

    @property
    def dropped(self) -> int:
        """Entries not counted because the table was full (this process)."""
        return self.core.dropped

    def record(
        self, kind: str, model: str, input_tokens: int, output_tokens: int = 0, cached: int = 0
    ) -> None:
        """Count one request of ``kind`` (words INPUT, OUTPUT, CACHED, REQUESTS of this minute's entry;
        the model id cut to 200 characters)."""
        self.core.usage(kind, model, input_tokens, output_tokens, cached)

    def minutes(self, kind: str, start_minute: int, end_minute: int) -> list[tuple[int, str, list[int]]]:
        """``(minute, model, counts)`` of every entry of ``kind`` in ``[start_minute, end_minute)``."""
        rows = []
        for key, counts in self.table.items():
            entry_kind, minute, model = key.split("|", 2)
            if entry_kind == kind and start_minute <= int(minute) < end_minute:
                rows.append((int(minute), model, counts))
        return rows
