"""Generated images served back at ``GET /images/{id}.png`` until they expire.

Any granian worker may answer the ``GET``, so the PNG files live in a directory of the server's shared
directory (:func:`fakeai.runtime.shared.current_dir`), named by an unguessable id. A file's age is its
modification time; expired files answer 404 and are deleted, and each worker sweeps the directory for
expired files at most once a minute when it stores new ones.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from fakeai.runtime import shared

_NAME = re.compile(r"img-[A-Za-z0-9_-]{22}\.png")
SWEEP_EVERY = 60.0


class ImageStore:
    def __init__(self, ttl: float, directory: Path | None = None) -> None:
        self.ttl = ttl
        self.dir = directory or shared.current_dir() / "images"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._last_sweep = 0.0

    def put(self, png: bytes) -> str:
        """Store one PNG; returns its file name (``img-<id>.png``)."""
        self._sweep()
        name = f"img-{secrets.token_urlsafe(16)}.png"
        tmp = self.dir / f".{name}.tmp"
        tmp.write_bytes(png)
        os.replace(tmp, self.dir / name)  # readers never see a partial file
        return name

    def get(self, name: str) -> bytes | None:
        """The PNG stored as ``name``, or None when unknown or expired."""
        if not _NAME.fullmatch(name):
            return None
        path = self.dir / name
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                path.unlink(missing_ok=True)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def _sweep(self) -> None:
        now = time.time()
        if now - self._last_sweep < SWEEP_EVERY:
            return
        self._last_sweep = now
        for entry in os.scandir(self.dir):
            try:
                if now - entry.stat().st_mtime > self.ttl:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass
