from __future__ import annotations

import os
import time

from fakeai.store.images import ImageStore


def test_put_get_and_expiry(tmp_path):
    store = ImageStore(ttl=60, directory=tmp_path)
    name = store.put(b"\x89PNG fake")
    assert name.startswith("img-") and name.endswith(".png")
    assert store.get(name) == b"\x89PNG fake"
    assert store.put(b"other") != name
    old = time.time() - 120
    os.utime(tmp_path / name, (old, old))
    assert store.get(name) is None
    assert not (tmp_path / name).exists()  # an expired file is deleted when asked for


def test_names_outside_the_pattern_are_unknown(tmp_path):
    (tmp_path / "secret.txt").write_text("x")
    store = ImageStore(ttl=60, directory=tmp_path)
    for name in ("secret.txt", "../secret.txt", "img-short.png", "img-AAAAAAAAAAAAAAAAAAAAAA.png"):
        assert store.get(name) is None


def test_writers_sweep_expired_files(tmp_path):
    store = ImageStore(ttl=60, directory=tmp_path)
    stale = store.put(b"a")
    old = time.time() - 120
    os.utime(tmp_path / stale, (old, old))
    fresh = ImageStore(ttl=60, directory=tmp_path).put(b"b")  # another worker, due for its first sweep
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh]
