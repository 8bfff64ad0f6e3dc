from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from fakeai.store.images import ImageStore


def stored_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir())


def test_put_get_and_expiry(tmp_path):
    store = ImageStore(ttl=60, max_bytes=1000, directory=tmp_path / "images")
    name = store.put(b"\x89PNG fake")
    assert name.startswith("img-") and name.endswith(".png")
    assert store.get(name) == b"\x89PNG fake"
    assert store.put(b"other") != name
    assert store.held() == len(b"\x89PNG fake") + len(b"other")
    old = time.time() - 120
    os.utime(store.dir / name, (old, old))
    assert store.get(name) is None
    assert not (store.dir / name).exists()  # an expired file is deleted when asked for
    assert store.held() == len(b"other")


def test_names_outside_the_pattern_are_unknown(tmp_path):
    (tmp_path / "secret.txt").write_text("x")
    store = ImageStore(ttl=60, max_bytes=1000, directory=tmp_path / "images")
    for name in ("secret.txt", "../secret.txt", "img-short.png", "img-AAAAAAAAAAAAAAAAAAAAAA.png"):
        assert store.get(name) is None


def test_writers_sweep_expired_files(tmp_path):
    directory = tmp_path / "images"
    store = ImageStore(ttl=60, max_bytes=1000, directory=directory)
    stale = store.put(b"a")
    old = time.time() - 120
    os.utime(directory / stale, (old, old))
    (directory / ".img-AAAAAAAAAAAAAAAAAAAAAA.png.tmp").write_bytes(b"left by a killed worker")
    worker = ImageStore(ttl=60, max_bytes=1000, directory=directory)  # another worker, due for a sweep
    fresh = worker.put(b"bc")
    assert sorted(p.name for p in directory.iterdir()) == [fresh]
    assert store.held() == worker.held() == 2  # the sweep's deletions are uncounted for every worker


def test_the_oldest_images_are_evicted_beyond_the_bound(tmp_path):
    directory = tmp_path / "images"
    first, second = (ImageStore(ttl=60, max_bytes=1000, directory=directory) for _ in range(2))
    names = [(first if i % 2 else second).put(bytes([i]) * 100) for i in range(10)]  # two workers
    assert first.held() == stored_bytes(directory) == 1000
    newest = first.put(b"n" * 100)
    # down to three quarters of the bound (750 bytes) with the new one: the four oldest go
    assert [first.get(n) is None for n in names] == [True] * 4 + [False] * 6
    assert second.get(newest) == b"n" * 100
    assert second.held() == stored_bytes(directory) == 700
    for i in range(30):
        second.put(bytes([i]) * (50 + 7 * i))
        assert first.held() == stored_bytes(directory) <= 1000


def test_an_image_larger_than_the_bound_is_not_kept(tmp_path):
    store = ImageStore(ttl=60, max_bytes=100, directory=tmp_path / "images")
    kept = store.put(b"k" * 60)
    dropped = store.put(b"x" * 101)
    assert store.get(dropped) is None and store.get(kept) == b"k" * 60  # nothing evicted in vain
    assert store.held() == stored_bytes(store.dir) == 60
    assert store.get(store.put(b"y" * 100)) == b"y" * 100  # exactly the bound fits


def _fill(directory: Path, worker: int) -> None:
    store = ImageStore(ttl=60, max_bytes=5000, directory=directory)
    for i in range(300):
        store.put(bytes([worker]) * (40 + (i * 13 + worker) % 90))


def test_several_processes_share_the_bound(tmp_path):
    directory = tmp_path / "images"
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_fill, args=(directory, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = ImageStore(ttl=60, max_bytes=5000, directory=directory)
    assert store.held() == stored_bytes(directory)
    assert 5000 * 3 // 4 - 130 <= stored_bytes(directory) <= 5000
