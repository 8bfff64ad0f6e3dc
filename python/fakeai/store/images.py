"""Generated images served back at ``GET /images/{id}.png`` until they expire or are evicted.

Any granian worker may answer the ``GET``, so the PNG files live in a directory of the server's shared
directory (:func:`fakeai.runtime.shared.current_dir`, RAM-backed ``/dev/shm`` when there is one), named by
an unguessable id. The rules, for the whole server (every worker writes to the same directory):

1. A file's age is its modification time; a file older than ``--image-url-ttl`` answers 404.
2. The directory holds at most ``--max-image-bytes`` of PNGs. When a new image would pass that bound, the
   oldest images are deleted first, down to three quarters of the bound (so that eviction is an
   occasional pass, not one per image); their urls then answer 404 as expired ones do. A generation is
   never refused: an image larger than the whole bound is simply not kept (its url answers 404 at once).
3. The bytes held are a word of a shared table (``images.table`` beside the directory). Every change
   to the directory (storing, evicting, sweeping, deleting an expired file) happens under an ``flock``
   of ``images.lock``, so the word is exact with any number of writers; reading an image takes no lock
   (files appear by ``os.replace``). Storing one image is a lock, two words read and written, a file
   written: no directory listing. Stored files get strictly increasing modification times (the
   table's other word), so the oldest are known exactly however coarse the clock.
4. Each worker sweeps the directory at most once a minute when it stores images, and whenever it has
   to evict: expired files are deleted, and the word is set to the bytes actually found (which repairs
   what a worker killed in the middle of a write left behind).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from fakeai import _core
from fakeai.runtime import shared
from fakeai.runtime.file_lock import locked

_NAME = re.compile(r"img-[A-Za-z0-9_-]{22}\.png")
_TEMP = re.compile(r"\.img-[A-Za-z0-9_-]{22}\.png\.tmp")
SWEEP_EVERY = 60.0
#: The shared table's entry: the bytes of the PNGs in the directory, and the last file's
#: modification time (ns), kept increasing so that the age order is exact however coarse the clock.
KEY, HELD, STAMP = "images", 0, 1


class ImageStore:
    def __init__(self, ttl: float, max_bytes: int, directory: Path | None = None) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        #: What an eviction frees the store down to.
        self.low_bytes = max_bytes - max_bytes // 4
        self.dir = directory or shared.current_dir() / "images"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.dir.with_name(self.dir.name + ".lock")
        self.table = _core.SharedTable(self.dir.with_name(self.dir.name + ".table"), 1, 2)
        self._last_sweep = 0.0

    def put(self, png: bytes) -> str:
        """Store one PNG (evicting the oldest when the store is full); returns its file name
        (``img-<id>.png``), whose ``get`` answers None when the PNG alone is larger than the bound."""
        name = f"img-{secrets.token_urlsafe(16)}.png"
        size = len(png)
        if size > self.max_bytes:
            return name  # larger than the whole store: not kept, and nothing evicted for it
        with locked(self.lock_path):
            held = self.table.load(KEY, HELD)
            now = time.time()
            if held + size > self.max_bytes or now - self._last_sweep >= SWEEP_EVERY:
                self._last_sweep = now
                held = self._sweep(now, size if held + size > self.max_bytes else 0)
            self.table.store(KEY, HELD, held + size)  # counted first: a write cut short over-counts
            stamp = max(time.time_ns(), self.table.load(KEY, STAMP) + 1)
            self.table.store(KEY, STAMP, stamp)
            tmp = self.dir / f".{name}.tmp"
            tmp.write_bytes(png)
            os.utime(tmp, ns=(stamp, stamp))
            os.replace(tmp, self.dir / name)  # readers never see a partial file
        return name

    def get(self, name: str) -> bytes | None:
        """The PNG stored as ``name``, or None when unknown, expired or evicted."""
        if not _NAME.fullmatch(name):
            return None
        path = self.dir / name
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                with locked(self.lock_path):
                    self._delete(path)
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def held(self) -> int:
        """Bytes of the PNGs in the store (all workers')."""
        return self.table.load(KEY, HELD)

    def _delete(self, path: Path) -> None:
        """Delete one stored PNG and uncount it (callers hold the lock)."""
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        self.table.store(KEY, HELD, max(0, self.table.load(KEY, HELD) - size))

    def _sweep(self, now: float, need: int) -> int:
        """Delete expired PNGs and leftover temporary files, then, when ``need`` > 0, the oldest PNGs
        until ``need`` more bytes fit under three quarters of the bound; record and return the bytes
        left (callers hold the lock, so no other writer has a file half written)."""
        kept: list[tuple[int, int, str]] = []
        for entry in os.scandir(self.dir):
            png = _NAME.fullmatch(entry.name) is not None
            if not png and not _TEMP.fullmatch(entry.name):
                continue
            try:
                stat = entry.stat()
                if png and now - stat.st_mtime <= self.ttl:
                    kept.append((stat.st_mtime_ns, stat.st_size, entry.path))
                else:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass
        held = sum(size for _, size, _ in kept)
        if need:
            kept.sort()
            for _, size, path in kept:
                if held + need <= self.low_bytes:
                    break
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                held -= size
        self.table.store(KEY, HELD, held)
        return held
