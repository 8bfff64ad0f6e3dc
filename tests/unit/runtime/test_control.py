"""Serving state and run-time configuration over one shared directory, as two workers see them."""

from __future__ import annotations

import time

import pytest

from fakeai import _core
from fakeai.runtime.control import Control
from fakeai.runtime.live_config import LIVE, ConfigError, LiveConfig
from fakeai.settings import Settings


def _table(tmp_path) -> _core.SharedTable:
    return _core.SharedTable(str(tmp_path / "control.table"), 16, 4)


def test_shared_table_words_load_store_and_swap(tmp_path):
    table = _table(tmp_path)
    assert table.load("w", 0) == 0
    table.store("w", 1, 7)
    assert table.get("w") == [0, 7, 0, 0]
    assert table.compare_exchange("w", 1, 7, 9) == 7 and table.load("w", 1) == 9
    assert table.compare_exchange("w", 1, 7, 11) == 9 and table.load("w", 1) == 9
    with pytest.raises(ValueError):
        table.store("w", 4, 1)


def test_attempts_count_per_id(tmp_path):
    table = _core.SharedTable(str(tmp_path / "a.table"), 8, _core.ATTEMPTS_TABLE_WIDTH)
    assert [table.count_attempt("r1", 1, 8) for _ in range(3)] == [1, 2, 3]
    assert table.count_attempt("r2", 2, 8) == 1


def test_sleep_is_seen_by_the_other_worker_after_its_poll(tmp_path):
    a, b = Control(Settings(), _table(tmp_path)), Control(Settings(), _table(tmp_path))
    assert a.unavailable() is None and not b.is_sleeping()
    a.sleep(2)
    assert b.unavailable() is None  # not polled yet
    b.poll()
    assert b.unavailable()[1] == "engine_sleeping" and b.is_sleeping()
    b.wake_up(60)
    a.poll()
    assert a.unavailable()[1] == "engine_waking" and a.is_sleeping()
    b.wake_up(0)
    b.woken()
    a.poll()
    assert a.unavailable() is None and not a.is_sleeping()


def test_loading_lasts_the_startup_duration_from_the_first_clock(tmp_path):
    table = _table(tmp_path)
    first = Control(Settings(), table)
    later = Control(Settings(startup_duration_s=3600), table)
    assert first.unavailable() is None
    message, code, left = later.unavailable()
    assert code == "model_loading" and 3500 < left <= 3600 and "--startup-duration" in message
    table.store("clock", 0, int((time.time() - 3601) * 1000))  # as if started an hour ago
    assert Control(Settings(startup_duration_s=3600), table).unavailable() is None


def test_live_changes_reach_the_other_worker_and_bad_ones_name_their_key(tmp_path):
    base = Settings(ttft_ms=0.0)
    one = LiveConfig(base, Control(base, _table(tmp_path)), tmp_path)
    two = LiveConfig(base, Control(base, _table(tmp_path)), tmp_path)
    seen = []
    two.subscribe(seen.append)
    assert set(one.values()) == set(LIVE) and "port" not in LIVE and "api_keys" not in LIVE
    one.update({"ttft_ms": 12, "error_mix": "503"}, lambda s: None)
    assert one.settings.ttft_ms == 12.0 and two.settings.ttft_ms == 0.0
    two.control.poll()
    assert two.settings.ttft_ms == 12.0 and seen == [two.settings]
    for change, key in (({"jitter": "x"}, "jitter"), ({"workers": 2}, "workers"), ({"rpm": -1}, "rpm")):
        with pytest.raises(ConfigError) as exc:
            one.update(change, lambda s: None)
        assert exc.value.key == key

    def check(s: Settings) -> None:
        if s.error_mix == "bad":
            raise ValueError("--error-mix: names no kind")

    with pytest.raises(ConfigError) as exc:
        one.update({"ttft_ms": 1, "error_mix": "bad"}, check)
    assert exc.value.key == "error_mix" and one.settings.ttft_ms == 12.0
    # a worker started after the change starts changed
    three = LiveConfig(base, Control(base, _table(tmp_path)), tmp_path)
    assert three.settings.ttft_ms == 12.0 and three.values()["error_mix"] == "503"
