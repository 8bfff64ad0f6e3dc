from __future__ import annotations

from fakeai.engine import profiles
from fakeai.engine.latency import Latencies
from fakeai.gateway.overrides import Overrides
from fakeai.settings import Settings

MODEL = "meta-llama/Llama-3.1-70B-Instruct"


def test_profile_applies_when_nothing_is_set():
    p = profiles.lookup(MODEL)
    lat = Latencies(Settings()).for_model(MODEL)
    assert lat.ttft == p.ttft_ms / 1000 and lat.itl == p.itl_ms / 1000
    assert lat.prefill_per_token == p.prefill_us_per_token / 1e6 and lat.jitter == p.jitter


def test_settings_override_the_profile_and_drop_prefill():
    lat = Latencies(Settings(ttft_ms=50, jitter=0)).for_model(MODEL)
    assert (lat.ttft, lat.prefill_per_token, lat.jitter) == (0.05, 0.0, 0)
    assert lat.itl == profiles.lookup(MODEL).itl_ms / 1000  # ITL still from the profile
    assert Latencies(Settings(itl_ms=0)).for_model(MODEL).itl == 0


def test_headers_override_settings_for_one_request():
    lats = Latencies(Settings(ttft_ms=50, itl_ms=10))
    lat = lats.for_request(MODEL, Overrides(ttft_ms=200))
    assert (lat.ttft, lat.itl) == (0.2, 0.01)
    assert lats.for_request(MODEL, Overrides(itl_ms=1)).itl == 0.001
    assert lats.for_request(MODEL, None) is lats.for_model(MODEL)
    assert lats.for_request(MODEL, Overrides(output_tokens=3)) is lats.for_model(MODEL)


def test_prefill_knobs_replace_the_profile_terms_unless_ttft_is_fixed():
    lat = Latencies(Settings(prefill_overhead_ms=20, prefill_time_per_token_us=500)).for_model(MODEL)
    assert (lat.ttft, lat.prefill_per_token) == (0.02, 0.0005)
    only_rate = Latencies(Settings(prefill_time_per_token_us=0)).for_model(MODEL)
    assert (only_rate.ttft, only_rate.prefill_per_token) == (profiles.lookup(MODEL).ttft_ms / 1000, 0.0)
    fixed = Latencies(Settings(ttft_ms=5, prefill_overhead_ms=20, prefill_time_per_token_us=500))
    assert (fixed.for_model(MODEL).ttft, fixed.for_model(MODEL).prefill_per_token) == (0.005, 0.0)
