"""The server-wide count of open WebSocket sessions (``--max-realtime-sessions``).

A Realtime session holds up to some 30 MiB (its input audio buffer and its conversation), a Responses
WebSocket connection its queued creates and response cache: each is bounded, but their number was
not, so a few hundred idle sockets could exhaust the server's memory. Both kinds count against one
cap, the same whichever granian worker accepts the socket.

Shared state: the table ``ws-sessions`` of the server's shared directory (:mod:`fakeai.runtime.shared`)
holds one row per worker process, ``slot:<i>`` = ``[owner, sessions]``: ``owner`` the process's
identity (its pid, and its start time from ``/proc/<pid>/stat``, so that a reused pid is not taken
for the dead process), ``sessions`` how many it holds open. A process claims a free row (or its own)
when it first opens the counter; each row's count is written by its owner only.

1. A session is admitted by adding one to its worker's row, then summing every row: over the cap,
   the one is taken back and the session refused. Two workers admitting at the same instant may
   both see each other's one and both refuse (never both admit past the cap).
2. A session ends (client close, error, server close, cancellation) by taking its one back, in the
   handler's ``finally``.
3. A worker that dies (kill -9, out of memory) cannot take its sessions back: its row still counts
   them. Before refusing a session, and when a process claims a row (granian's replacement of a dead
   worker does at start-up), every row whose owner is no longer alive is *reaped*: marked
   :data:`REAPING` by a compare-exchange (so one process reaps it), its count set to 0, then freed for
   reuse. A dead worker's sessions thus never hold the cap for longer than until the next refusal.
   Since the count lives in the owner's row alone, no crash leaves a partial update behind.

Should every row be taken by live processes (:data:`SLOTS` of them, more than granian runs), a process
counts in the unowned row :data:`SPARE`, which nothing reaps: its sessions leak when it crashes.
"""

from __future__ import annotations

import functools
import os

from fakeai import _core
from fakeai.runtime import shared

TABLE = "ws-sessions"
#: Rows for worker processes (granian runs at most 256 workers; in-process apps share their process's).
SLOTS = 512
#: The row of a process that found no free slot (never reaped).
SPARE = "spare"
#: The owner word of a row being reaped (no process has pid 0).
REAPING = 1
_PID_SHIFT = 40
_START_MASK = (1 << _PID_SHIFT) - 1
_UNDO = (1 << 64) - 1  # adding it subtracts 1 (the table's words wrap)


def open_sessions_table() -> _core.SharedTable:
    return shared.open_table(TABLE, 2 * SLOTS + 2, 2)


@functools.cache
def _has_proc() -> bool:
    return os.path.exists("/proc/self/stat")


def identity(pid: int) -> int | None:
    """Process ``pid``'s identity (pid and start time in one word), or None when it is not running
    (gone, or a zombie)."""
    if not _has_proc():  # liveness alone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid << _PID_SHIFT
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rsplit(b")", 1)[-1].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return (pid << _PID_SHIFT) | (int(fields[19]) & _START_MASK)


def alive(owner: int) -> bool:
    return identity(owner >> _PID_SHIFT) == owner


class Sessions:
    """This process's view of the server's open WebSocket sessions, capped at ``limit`` (0: not
    counted at all)."""

    def __init__(self, limit: int, table: _core.SharedTable | None = None) -> None:
        self.limit = limit
        self.table = table if table is not None else open_sessions_table()
        self.pid = 0
        self.row = SPARE
        if limit:
            self._claim()

    def _claim(self) -> None:
        """Take this process's row: its own if it has one, else the first free one."""
        self.pid = os.getpid()
        me = identity(self.pid) or (self.pid << _PID_SHIFT)
        self.reap()
        for i in range(SLOTS):
            key = f"slot:{i}"
            if self.table.compare_exchange(key, 0, 0, me) in (0, me):
                self.row = key
                return
        self.row = SPARE

    def reap(self) -> int:
        """Free the rows of processes no longer alive; returns how many sessions they held."""
        freed = 0
        for key, (owner, _) in self.table.items():
            if owner in (0, REAPING) or not key.startswith("slot:") or alive(owner):
                continue
            if self.table.compare_exchange(key, 0, owner, REAPING) != owner:
                continue  # another process reaps (or took) it
            freed += self.table.load(key, 1)
            self.table.store(key, 1, 0)
            self.table.store(key, 0, 0)
        return freed

    def open(self) -> int:
        """Sessions open server-wide (a dead worker's counted until reaped)."""
        return sum(words[1] for _, words in self.table.items())

    def acquire(self) -> bool:
        """Count one more session: False (nothing counted) when the cap is reached."""
        if not self.limit:
            return True
        if self.pid != os.getpid():  # first use, or a forked child: never count in another's row
            self._claim()
        for attempt in range(2):
            self.table.add(self.row, 1, 1)
            if self.open() <= self.limit:
                return True
            self.table.add(self.row, 1, _UNDO)
            if attempt or not self.reap():
                break
        return False

    def release(self) -> None:
        """Count one session fewer (one :meth:`acquire` admitted)."""
        if self.limit:
            self.table.add(self.row, 1, _UNDO)
