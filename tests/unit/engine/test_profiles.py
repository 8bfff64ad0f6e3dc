from __future__ import annotations

import pytest

from fakeai.engine import profiles
from fakeai.engine.catalog import WELL_KNOWN


@pytest.mark.parametrize(
    "model, family",
    [
        ("gpt-4o", "GPT-4o"),
        ("gpt-4o-mini", "GPT-4o mini"),
        ("openai/gpt-oss-120b", "gpt-oss-120b (MoE, 5.1B active)"),
        ("meta-llama/Llama-3.1-8B-Instruct", "Llama 3.x 8B"),
        ("meta/llama-3.1-70b-instruct", "Llama 3.x 70B"),
        ("meta-llama/Llama-3.1-405B-Instruct", "Llama 3.1 405B"),
        ("deepseek-ai/DeepSeek-R1", "DeepSeek-R1 (MoE, 37B active)"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "Mixtral 8x7B (MoE, 13B active)"),
        ("Qwen/Qwen3-235B-A22B", "Qwen3 235B-A22B (MoE, 22B active)"),
        ("nvidia/llama-3.3-nemotron-super-49b-v1", "Nemotron Super 49B"),
    ],
)
def test_model_ids_pick_their_family(model, family):
    assert profiles.lookup(model).family == family


def test_bigger_models_are_slower():
    small, mid, big = (profiles.lookup(f"meta-llama/Llama-3.1-{s}-Instruct") for s in ("8B", "70B", "405B"))
    assert small.ttft_ms < mid.ttft_ms < big.ttft_ms
    assert small.itl_ms < mid.itl_ms < big.itl_ms
    assert small.prefill_us_per_token < mid.prefill_us_per_token < big.prefill_us_per_token


def test_unknown_ids_scale_with_the_size_in_their_name():
    assert profiles.lookup("acme/wizard-13b-chat") == profiles.scaled(13)
    assert profiles.scaled(30).itl_ms > profiles.scaled(13).itl_ms
    assert profiles.lookup("my-model") is profiles.DEFAULT


def test_every_catalog_model_has_a_sane_profile():
    for m in WELL_KNOWN:
        p = profiles.lookup(m.id)
        assert 0 < p.ttft_ms < 1000 and 0 < p.itl_ms < 100 and p.prefill_us_per_token > 0, m.id
