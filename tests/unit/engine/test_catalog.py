from __future__ import annotations

from fakeai.engine.catalog import Catalog


def test_known_models_and_capabilities():
    c = Catalog()
    assert c.get("text-embedding-3-small").embedding_dims == 1536
    assert c.get("deepseek-ai/DeepSeek-R1").supports("reasoning")
    assert not c.get("gpt-3.5-turbo").supports("vision")


def test_unknown_ids_register_on_first_use():
    c = Catalog()
    assert c.get("x/new") is None
    m = c.resolve("x/new")
    assert m.owned_by == "x" and c.get("x/new") is m
    e = c.resolve("my-embedder", for_embeddings=True)
    assert e.supports("embeddings") and e.embedding_dims > 0
    assert c.resolve("x/new") is m


def test_card_is_an_openai_model_object():
    card = Catalog().get("gpt-4o").card()
    assert card["object"] == "model" and card["id"] == "gpt-4o" and isinstance(card["created"], int)


def test_registration_stops_at_max_auto_and_later_ids_are_served_unlisted():
    c = Catalog(max_auto=2)
    first, second = c.resolve("a/1"), c.resolve("a/2")
    third = c.resolve("a/3", for_embeddings=True)
    assert c.get("a/1") is first and c.get("a/2") is second
    assert c.get("a/3") is None and third.supports("embeddings") and third.owned_by == "a"
    assert c.resolve("a/1") is first  # registered ids stay
    assert len(c.all()) == len(Catalog().all()) + 2
