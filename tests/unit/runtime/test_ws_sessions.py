"""The server-wide WebSocket session count (:mod:`fakeai.runtime.ws_sessions`): the cap, release, and
the rows of dead processes (killed, zombie, or a pid reused by another process) freed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from fakeai import _core
from fakeai.runtime import ws_sessions
from fakeai.runtime.ws_sessions import Sessions, alive, identity

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture()
def table(tmp_path) -> _core.SharedTable:
    return _core.SharedTable(str(tmp_path / "ws.table"), 2 * ws_sessions.SLOTS + 2, 2)


def test_the_cap_counts_every_process_row_and_release_frees_a_slot(table):
    other = Sessions(3, table)
    mine = Sessions(3, table)
    assert other.row == mine.row  # one row per process, shared by its counters
    table.store("slot:7", 0, identity(os.getppid()) or 0)  # a live process's row, holding one
    table.store("slot:7", 1, 1)
    assert mine.acquire() and other.acquire()
    assert not mine.acquire() and mine.open() == 3
    mine.release()
    assert other.acquire() and not other.acquire()


def test_zero_is_no_limit(table):
    sessions = Sessions(0, table)
    assert all(sessions.acquire() for _ in range(1000)) and sessions.open() == 0


def _dead_identity() -> int:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    owner = identity(child.pid)
    child.kill()
    child.wait()
    assert owner is not None and not alive(owner)
    return owner


@linux_only
def test_a_dead_process_row_is_reaped_when_a_process_claims_one(table):
    table.store("slot:0", 0, _dead_identity())
    table.store("slot:0", 1, 2)
    sessions = Sessions(2, table)
    assert sessions.row == "slot:0" and table.get("slot:0") == [identity(os.getpid()), 0]
    assert sessions.acquire() and sessions.acquire() and not sessions.acquire()


@linux_only
def test_a_refusal_reaps_first(table):
    sessions = Sessions(2, table)
    table.store("slot:9", 0, _dead_identity())  # died after this process claimed its row
    table.store("slot:9", 1, 2)
    assert sessions.acquire() and sessions.acquire()
    assert table.get("slot:9") == [0, 0]


@linux_only
def test_a_zombie_and_a_reused_pid_are_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = identity(child.pid)
        assert owner is not None and alive(owner)
        assert not alive(owner ^ 1)  # the same pid started at another time: another process
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: a zombie
        assert identity(child.pid) is None and not alive(owner)
    finally:
        child.kill()
        child.wait()


def test_without_proc_a_process_is_alive_while_it_runs(monkeypatch):
    monkeypatch.setattr(ws_sessions, "_has_proc", lambda: False)
    me = identity(os.getpid())
    assert me == os.getpid() << 40 and alive(me)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert identity(child.pid) is None
