from __future__ import annotations

import pytest

from fakeai import _core
from fakeai.engine.catalog import CHAT, Catalog, table_capacity


@pytest.fixture
def table_path(tmp_path):
    return tmp_path / "models.table"


def catalog(path, limit: int = 16) -> Catalog:
    """A catalog over the shared table in ``path``; two catalogs over one path are two workers."""
    return Catalog(_core.SharedTable(str(path), table_capacity(limit), 2), limit)


def test_known_models_and_capabilities(table_path):
    c = catalog(table_path)
    assert c.get("text-embedding-3-small").embedding_dims == 1536
    assert c.get("deepseek-ai/DeepSeek-R1").supports("reasoning")
    # OpenAI's hosted reasoning models hide their reasoning in chat; its open-weight ones do not
    assert c.get("o3").supports("hidden_reasoning") and c.get("gpt-5").supports("hidden_reasoning")
    assert not c.get("openai/gpt-oss-20b").supports("hidden_reasoning")
    assert not c.get("deepseek-ai/DeepSeek-R1").supports("hidden_reasoning")
    assert not c.get("gpt-3.5-turbo").supports("vision")


def test_unknown_ids_register_on_first_use(table_path):
    c = catalog(table_path)
    assert c.get("x/new") is None
    m = c.resolve("x/new")
    assert m.owned_by == "x" and c.get("x/new") is m
    e = c.resolve("my-embedder", for_embeddings=True)
    assert e.supports("embeddings") and e.embedding_dims > 0
    assert c.resolve("x/new") is m


@pytest.mark.parametrize(
    "model, context, extra",
    [
        ("gpt-4o-2024-08-06", 128_000, {"vision", "audio"}),  # a snapshot: its model's
        ("o3-mini-2025-01-31", 200_000, {"reasoning", "hidden_reasoning"}),
        # ids the SDK names, newer than the catalog: GPT-5.1 and later sample at reasoning_effort none
        ("gpt-5.4-mini", 400_000, {"reasoning", "vision", "hidden_reasoning", "sampling_at_effort_none"}),
        ("gpt-6.2-sol", 400_000, {"reasoning", "vision", "hidden_reasoning", "sampling_at_effort_none"}),
        ("gpt-5-mini-2025-08-07", 400_000, {"reasoning", "vision", "hidden_reasoning"}),
        ("gpt-5-codex", 400_000, {"reasoning", "vision", "hidden_reasoning"}),
        ("gpt-5.2-pro", 400_000, {"reasoning", "vision", "hidden_reasoning"}),
        ("o1-pro-2025-03-19", 200_000, {"reasoning", "vision", "hidden_reasoning"}),
        ("gpt-5.3-chat-latest", 128_000, {"vision"}),
        ("gpt-4o-mini-audio-preview-2024-12-17", 128_000, {"audio"}),
        ("claude-sonnet-4-5-20250929", 200_000, {"vision"}),
        ("gpt-4.5-preview", 131_072, set()),  # no family: chat defaults
        ("gpt-image-1-2025-04-23", 131_072, set()),  # a snapshot of a media model: chat defaults
    ],
)
def test_unknown_ids_of_a_known_family_inherit_it(table_path, model, context, extra):
    first, second = catalog(table_path), catalog(table_path)
    m = first.resolve(model)
    assert (m.context_length, m.capabilities - CHAT) == (context, extra)
    assert m.supports("chat") and second.get(model) == m  # the same on every worker
    e = first.resolve("text-embedding-3-large-2024-01-25", for_embeddings=True)
    assert e.embedding_dims == 3072 and e.owned_by == "openai"


def test_registrations_are_seen_by_every_worker_in_one_order(table_path):
    first, second = catalog(table_path), catalog(table_path)
    first.resolve("acme/plausible-x-8b")
    second.resolve("acme/embedder", for_embeddings=True)
    first.resolve("zeta/late")
    assert second.get("acme/plausible-x-8b") is not None
    assert first.get("acme/embedder").supports("embeddings")
    # The first use decides the kind, whichever worker sees the id next.
    assert not second.resolve("acme/plausible-x-8b", for_embeddings=True).supports("embeddings")
    ids = [m.id for m in first.all()]
    assert ids == [m.id for m in second.all()]
    assert ids[-3:] == ["acme/plausible-x-8b", "acme/embedder", "zeta/late"]


def test_the_registry_is_bounded(table_path):
    a, b = catalog(table_path, limit=3), catalog(table_path, limit=3)
    for i in range(5):
        (a if i % 2 else b).resolve(f"org/m{i}")
    registered = [m.id for m in a.all() if m.id.startswith("org/")]
    assert registered == ["org/m0", "org/m1", "org/m2"]
    # Past the bound an id is still served with defaults, but not registered anywhere.
    extra = a.resolve("org/extra")
    assert extra.context_length > 0 and b.get("org/extra") is None and a.get("org/extra") is None
    long_id = "x" * (_core.SHARED_KEY_BYTES + 1)
    assert catalog(table_path.with_suffix(".2")).resolve(long_id).id == long_id


def test_card_is_an_openai_model_object(table_path):
    card = catalog(table_path).get("gpt-4o").card()
    assert card["object"] == "model" and card["id"] == "gpt-4o" and isinstance(card["created"], int)


def test_media_models_are_listed_without_a_text_window(table_path):
    c = catalog(table_path)
    for model_id, capability in (
        ("dall-e-3", "images"),
        ("gpt-image-1", "images"),
        ("tts-1", "speech"),
        ("whisper-1", "transcription"),
        ("omni-moderation-latest", "moderation"),
        ("sora-2", "video"),
    ):
        card = c.get(model_id).card()
        assert card["capabilities"] == [capability], model_id
        assert "max_model_len" not in card and "context_length" not in card
    realtime = c.get("gpt-4o-realtime-preview").card()
    assert {"realtime", "audio", "chat"} <= set(realtime["capabilities"]) and realtime[
        "context_length"
    ] == 128_000
