"""A worker's garbage collector after :func:`fakeai.runtime.collector.settle`, in a fresh interpreter
(freezing is process-wide)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
import fakeai.app
from fakeai.runtime import collector

assert gc.get_freeze_count() == 0
collector.settle()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()  # the imported modules' objects
assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD
cycle = []
cycle.append(cycle)
del cycle
assert gc.collect() >= 1  # the cycles a request leaves are still collected
"""


def test_settle_freezes_what_was_built_and_spaces_out_young_collections():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
