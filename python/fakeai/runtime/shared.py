"""Where one server's shared-memory files live, so that every granian worker opens the same ones.

``fakeai server`` creates a private directory (under ``/dev/shm`` when it exists) before the workers
start, exports it as ``FAKEAI_SHM_DIR``, and removes it on exit. An app built in-process without that
variable (``create_app()`` in a test) gets a directory of its own, removed when that process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from fakeai import _core

ENV = "FAKEAI_SHM_DIR"


def create_dir() -> Path:
    """A fresh private directory for one server's shared tables."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="fakeai-", dir=base))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def current_dir() -> Path:
    """The directory named by ``FAKEAI_SHM_DIR``, creating (and exporting) one when unset."""
    value = os.environ.get(ENV)
    if value:
        return Path(value)
    path = create_dir()
    os.environ[ENV] = str(path)
    atexit.register(_remove_if_owner, path, os.getpid())
    return path


def _remove_if_owner(path: Path, owner: int) -> None:
    """At exit: remove ``path`` in the process that created it (a forked child inherits the handler)."""
    if os.getpid() == owner:
        remove_dir(path)


def open_table(name: str, capacity: int, width: int) -> _core.SharedTable:
    """Open the shared table ``name`` of this server (every process must pass the same sizes)."""
    return _core.SharedTable(str(current_dir() / f"{name}.table"), capacity, width)
