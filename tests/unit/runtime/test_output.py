"""A closed standard output: a command exits quietly with 141, a server's log lines are dropped."""

from __future__ import annotations

import os
import subprocess
import sys

from fakeai.runtime.output import CLOSED_STATUS

# Runs with its standard output a pipe whose reader has already gone.
COMMAND = """
from fakeai.runtime.output import closed_stdout_exits
with closed_stdout_exits():
    print("x" * 100_000)
print("after", file=sys.stderr)
"""
LOGGER = """
import logging
from fakeai.runtime.output import LogHandler
log = logging.getLogger("t")
log.addHandler(LogHandler(sys.stdout))
for n in range(3):
    log.warning("line %d %s", n, "x" * 10_000)
print("still running", file=sys.stderr)
"""


def run_with_stdout_closed(code: str) -> subprocess.CompletedProcess[bytes]:
    read, write = os.pipe()
    os.close(read)  # no reader: every write to the pipe fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-c", "import sys\n" + code],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write)


def test_a_command_whose_stdout_is_closed_exits_141_without_a_traceback():
    r = run_with_stdout_closed(COMMAND)
    assert r.returncode == CLOSED_STATUS == 141 and r.stderr == b""


def test_log_lines_to_a_closed_stream_are_dropped_quietly():
    r = run_with_stdout_closed(LOGGER)
    assert r.returncode == 0 and r.stderr == b"still running\n"
