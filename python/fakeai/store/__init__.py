"""Persistence for what users store: files, uploads, batches, fine-tuning jobs, vector stores, responses
(and, in `images.py`, the short-lived generated images served at their urls).

:func:`open_store` gives a worker the :class:`~fakeai.store.base.Store` of its server. Every worker of
one ``fakeai server`` opens the same data directory: ``--data-dir`` (kept across restarts) or, without
it, a temporary directory that ``fakeai server`` creates before the workers start, exports as
``FAKEAI_DATA_DIR`` and removes at exit. An app built in-process without either gets a temporary
directory for the process, removed when it exits (not exported: child servers get their own).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from fakeai.store.base import Cap, Conflict, Missing, Obj, StorageFull, Store
from fakeai.store.sqlite import SQLiteStore

ENV = "FAKEAI_DATA_DIR"

__all__ = [
    "ENV",
    "Cap",
    "Conflict",
    "Missing",
    "Obj",
    "StorageFull",
    "Store",
    "create_temp_dir",
    "open_store",
    "prepare",
    "remove_temp_dir",
]


def create_temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fakeai-data-"))


def remove_temp_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def prepare(root: Path) -> int:
    """Make the store in the data directory ``root`` ready for the workers (before any starts): what
    a crash left half-written deleted (returns how many files), the database created in WAL mode."""
    removed = SQLiteStore.clean_stale(root)
    SQLiteStore.prepare(root)
    return removed


_process_dir: Path | None = None


def open_store(data_dir: str) -> Store:
    """The store in ``data_dir`` (created if missing), or in this process's temporary directory."""
    global _process_dir
    if data_dir:
        root = Path(data_dir)
    else:
        if _process_dir is None:
            _process_dir = create_temp_dir()
            atexit.register(remove_temp_dir, _process_dir)
        root = _process_dir
    root.mkdir(parents=True, exist_ok=True)
    return SQLiteStore(root)
