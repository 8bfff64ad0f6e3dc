"""Server-wide serving state: the readiness clock of ``--startup-duration``, vLLM's sleep mode, and
the change counter every worker polls once per request.

Everything lives in the shared table ``control`` of the server's shared directory, so whichever granian
worker answers sees the same state:

- ``clock``: word 0 is the server's start, epoch ms; the first process to open the table sets it
  (``fakeai server`` opens it before starting workers, so loading is timed from the launch);
- ``sleep``: word 0 the sleep level (0 awake, 1 or 2 as vLLM's), word 1 the epoch ms at which a
  wake-up finishes (0 when none is pending);
- ``changes``: word 0 counts changes of the sleep state and of the run-time configuration
  (:mod:`fakeai.runtime.live_config`, which keeps its own version at ``config``).

The hot path costs one atomic read (:meth:`Control.poll`) and one attribute test
(:meth:`Control.unavailable`) once the server is up and awake; state is re-read only when the counter
moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fakeai import _core
from fakeai.runtime import shared
from fakeai.settings import Settings

TABLE = "control"
CHANGES = "changes"


def open_control_table() -> _core.SharedTable:
    return shared.open_table(TABLE, 16, 4)


def start_clock(table: _core.SharedTable) -> float:
    """The server's start (epoch seconds), recorded by the first caller."""
    now = int(time.time() * 1000)
    held = table.compare_exchange("clock", 0, 0, now)
    return (held or now) / 1000.0


class Control:
    """One worker's view of the serving state (see the module docs)."""

    def __init__(self, settings: Settings, table: _core.SharedTable | None = None) -> None:
        self.table = table or open_control_table()
        self.ready_at = start_clock(self.table) + settings.startup_duration_s
        self.loading = settings.startup_duration_s > 0
        self.seen = -1
        self.level = 0
        self.awake_at = 0.0
        #: Called with no argument when the change counter moved (the live configuration reloads).
        self.listeners: list[Callable[[], None]] = []
        self.poll()

    # -- the hot path ----------------------------------------------------------------------------
    def poll(self) -> None:
        """Re-read the shared state if anything changed since this worker last looked."""
        changes = self.table.load(CHANGES, 0)
        if changes != self.seen:
            self.seen = changes
            self.level = self.table.load("sleep", 0)
            self.awake_at = self.table.load("sleep", 1) / 1000.0
            for listener in self.listeners:
                listener()

    def unavailable(self) -> tuple[str, str, float] | None:
        """Why inference must answer 503 now, as ``(message, code, seconds until it may pass)``, or
        None when the engine serves."""
        if self.loading:
            left = self.ready_at - time.time()
            if left > 0:
                return (
                    f"The model is still loading: the server is ready in {left:.1f} s (--startup-duration).",
                    "model_loading",
                    left,
                )
            self.loading = False
        if self.level:
            return self._sleeping()
        return None

    def _sleeping(self) -> tuple[str, str, float] | None:
        if self.awake_at:
            left = self.awake_at - time.time()
            if left <= 0:
                return None  # woken: the waking worker clears the shared state
            return (f"The engine is waking up: it serves again in {left:.1f} s.", "engine_waking", left)
        return (
            f"The engine is sleeping (level {self.level}): POST /wake_up to wake it.",
            "engine_sleeping",
            1.0,
        )

    # -- readiness and sleep -----------------------------------------------------------------------
    def ready(self) -> bool:
        return self.unavailable() is None

    def is_sleeping(self) -> bool:
        """vLLM's ``/is_sleeping``: asleep, or still waking up."""
        self.poll()
        return bool(self.level) and self._sleeping() is not None

    def sleep(self, level: int) -> None:
        self.table.store("sleep", 1, 0)
        self.table.store("sleep", 0, level)
        self._changed()

    def wake_up(self, seconds: float) -> None:
        """Start waking (done ``seconds`` from now). The caller waits that long, then calls
        :meth:`woken`."""
        if not self.table.load("sleep", 0):
            return
        self.table.store("sleep", 1, int((time.time() + seconds) * 1000))
        self._changed()

    def woken(self) -> None:
        """Clear a finished wake-up (a sleep ordered meanwhile stays)."""
        awake_at = self.table.load("sleep", 1)
        if awake_at and awake_at <= time.time() * 1000:
            self.table.store("sleep", 0, 0)
            self.table.compare_exchange("sleep", 1, awake_at, 0)
            self._changed()

    def _changed(self) -> None:
        self.table.add(CHANGES, 0, 1)
        self.poll()
