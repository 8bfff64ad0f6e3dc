"""The usage meter and the core's ``Meter``: usage and a live request's inference metrics in one call,
including from inside the generating call that renders the answer."""

from __future__ import annotations

import time

import msgspec
import pytest

from fakeai import _core
from fakeai.engine.usage import DEFAULT_PRICE, UsageMeter, price
from fakeai.observability import Metrics, Snapshot
from fakeai.runtime import shared
from fakeai.schemas.chat import ChatRequest
from fakeai.settings import Settings


@pytest.fixture()
def metrics(tmp_path, monkeypatch) -> Metrics:
    monkeypatch.setenv(shared.ENV, str(tmp_path))
    return Metrics(Settings(metrics_max_models=2))


def usage_row(meter: UsageMeter, kind: str, model: str) -> list[int]:
    rows = meter.minutes(kind, 0, int(time.time()) // 60 + 1)
    return [counts for _, m, counts in rows if m == model][0]


def test_a_live_answer_records_usage_and_its_inference_in_one_call(metrics):
    meter = UsageMeter(metrics)
    label = meter.core.record("completions", "gpt-4o", 12, 5, (0.02, 0.06))
    assert label == "gpt-4o"
    assert usage_row(meter, "completions", "gpt-4o") == [12, 5, 0, 1]
    m = Snapshot.read(metrics.table).models["gpt-4o"]
    assert (m.prompt_tokens, m.completion_tokens, m.running) == (12, 5, 1)
    assert m.ttft.sum == pytest.approx(0.02) and m.itl.sum == pytest.approx(0.01)


def test_off_the_live_path_only_usage_is_recorded(metrics):
    meter = UsageMeter(metrics)
    assert meter.core.record("completions", "gpt-4o", 3, 4, None, live=False) == "gpt-4o"
    assert usage_row(meter, "completions", "gpt-4o") == [3, 4, 0, 1]
    assert "gpt-4o" not in Snapshot.read(metrics.table).models


def test_with_metrics_off_usage_still_counts_and_the_label_is_the_id(tmp_path, monkeypatch):
    monkeypatch.setenv(shared.ENV, str(tmp_path))
    off = Metrics(Settings(metrics=False))
    meter = UsageMeter(off)
    assert meter.core.record("embeddings", "text-embedding-3-small", 7) == "text-embedding-3-small"
    assert usage_row(meter, "embeddings", "text-embedding-3-small") == [7, 0, 0, 1]
    assert Snapshot.read(off.table).models == {}


def test_model_labels_are_capped(metrics):
    meter = UsageMeter(metrics)
    labels = [meter.core.record("completions", m, 1, 1, [0.0]) for m in ("a", "b", "c", "a")]
    assert labels == ["a", "b", "other", "a"]
    assert usage_row(meter, "completions", "c") == [1, 1, 0, 1]  # usage keeps the real id


def test_usage_keeps_200_characters_of_the_model_id(metrics):
    meter = UsageMeter(metrics)
    meter.record("images", "m" * 300, 0, 2)
    assert usage_row(meter, "images", "m" * 200) == [0, 2, 0, 1]
    meter.record("images", "é" * 300, 0, 2)  # 200 characters, 400 bytes: too long for a key
    assert meter.dropped == 1


def test_a_full_usage_table_drops_entries_without_failing(tmp_path):
    tiny = _core.SharedTable(str(tmp_path / "tiny.table"), 1, 4)
    meter = _core.Meter(tiny)
    for i in range(5):
        meter.usage("completions", f"model-{i}", 1)
    assert meter.dropped >= 1 and len(tiny.items()) <= 1


def test_a_chat_answer_is_metered_by_the_call_that_renders_it(metrics):
    meter = UsageMeter(metrics)
    req = msgspec.json.decode(
        b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":4}', type=ChatRequest
    )
    answer = _core.chat(req, meter=meter.core, live=True)
    assert answer.label == "gpt-4o"
    row = usage_row(meter, "completions", "gpt-4o")
    assert row == [answer.prompt_tokens, answer.completion_tokens, 0, 1]
    assert Snapshot.read(metrics.table).models["gpt-4o"].completion_tokens == answer.completion_tokens
    assert _core.chat(req).label is None  # without a meter nothing is recorded
    assert usage_row(meter, "completions", "gpt-4o")[3] == 1


def test_prices_of_snapshots_and_fine_tunes_are_their_models():
    assert price("gpt-5-2025-08-07") == price("gpt-5") == (1.25, 10.0)
    assert price("ft:gpt-4.1-nano-2025-04-14:acme::abc123") == price("gpt-4.1-nano")
    assert price("acme/unknown-2025-01-01") == DEFAULT_PRICE
