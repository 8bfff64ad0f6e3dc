"""An exclusive lock shared by every process of a server: ``flock`` on a file beside what it guards
(the LoRA registry, the image store), held for the ``with`` block."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock of ``path`` (created when missing) until the block ends."""
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
