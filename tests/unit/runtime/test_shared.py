"""The shared-memory table as Python sees it: two handles on one file see one set of counts."""

from __future__ import annotations

import multiprocessing

import pytest

from fakeai import _core


def _bump(path: str, n: int) -> None:
    table = _core.SharedTable(path, 64, 2)
    for _ in range(n):
        table.add("requests|chat", 0, 1)


def test_processes_share_counts(tmp_path):
    path = str(tmp_path / "t.table")
    table = _core.SharedTable(path, 64, 2)
    procs = [multiprocessing.get_context("spawn").Process(target=_bump, args=(path, 500)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert table.get("requests|chat") == [1000, 0]
    assert table.add("requests|chat", 1, 5) == 5
    assert dict(table.items()) == {"requests|chat": [1000, 5]}
    assert table.get("missing") is None


def test_bad_use_is_an_error(tmp_path):
    table = _core.SharedTable(str(tmp_path / "t.table"), 1, 1)
    with pytest.raises(ValueError):
        table.add("a", 3, 1)
    table.add("a", 0, 1)
    with pytest.raises(ValueError):
        table.add("b", 0, 1)
    with pytest.raises(OSError):
        _core.SharedTable(str(tmp_path / "t.table"), 8, 1)


def test_histograms_in_the_table(tmp_path):
    table = _core.SharedTable(str(tmp_path / "h.table"), 16, _core.HISTOGRAM_WIDTH)
    for seconds in (0.003, 0.003, 0.05, 2.0):
        table.observe("ttft|gpt-4o", seconds)
    count, total, buckets = table.histogram("ttft|gpt-4o")
    assert count == 4 and total == pytest.approx(2.056)
    assert len(buckets) == len(_core.HISTOGRAM_BOUNDS) + 1 and sum(buckets) == 4
    assert 0.001 <= table.quantile("ttft|gpt-4o", 0.5) <= 0.005
    assert table.histogram("missing") is None and table.quantile("missing", 0.5) == 0.0
    narrow = _core.SharedTable(str(tmp_path / "n.table"), 4, 2)
    with pytest.raises(ValueError):
        narrow.observe("x", 1.0)
