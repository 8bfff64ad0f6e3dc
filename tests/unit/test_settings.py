from __future__ import annotations

import pytest

from fakeai.settings import Settings


def test_defaults():
    s = Settings()
    assert (s.host, s.port, s.workers, s.ttft_ms, s.itl_ms) == ("127.0.0.1", 8000, 1, None, None)


def test_env_overrides_defaults_and_replace_overrides_env():
    s = Settings.from_env({"FAKEAI_PORT": "9000", "FAKEAI_TTFT_MS": "0", "OTHER": "x"})
    assert s.port == 9000 and s.ttft_ms == 0.0
    assert s.replace(port=9100).port == 9100


def test_round_trip_through_env():
    s = Settings(port=1234, workers=3, itl_ms=7.5, log_level="debug")
    assert Settings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"FAKEAI_PORT": "eighty"}, "FAKEAI_PORT"),
        ({"FAKEAI_WORKERS": "0"}, "FAKEAI_WORKERS"),
        ({"FAKEAI_ITL_MS": "-1"}, "FAKEAI_ITL_MS"),
        ({"FAKEAI_LOG_LEVEL": "loud"}, "FAKEAI_LOG_LEVEL"),
        ({"FAKEAI_PORT": "70000"}, "FAKEAI_PORT"),
    ],
)
def test_bad_values_name_their_variable(env, needle):
    with pytest.raises(ValueError, match=needle):
        Settings.from_env(env)


def test_cluster_knobs_are_bounded():
    with pytest.raises(ValueError, match="FAKEAI_KV_WORKERS"):
        Settings.from_env({"FAKEAI_KV_WORKERS": "5000"})
    with pytest.raises(ValueError, match="FAKEAI_KV_BATCH_SIZE"):
        Settings.from_env({"FAKEAI_KV_BATCH_SIZE": "-1"})
    s = Settings.from_env({"FAKEAI_KV_PREFILL_WORKERS": "2", "FAKEAI_TTFT_MS": "5"})
    assert (s.kv_prefill_workers, s.ttft_ms, s.itl_ms) == (2, 5.0, None)
