"""Conversations in the store: items in order under their conversation, the item cap checked in the
adding transaction, ids unique within a conversation only, and the byte budget's accounting."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeai.store import Conflict, Missing, StorageFull
from fakeai.store import conversations as conv
from fakeai.store.sqlite import SQLiteStore

BUDGET = 10**9


@pytest.fixture()
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path)


def item(id: str, text: str = "x") -> dict:
    return {"id": id, "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def stored_bytes(store: SQLiteStore) -> int:
    (n,) = store._conn().execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM objects").fetchone()
    return n


def test_items_in_order_paged_and_scoped_to_their_conversation(store: SQLiteStore) -> None:
    a, b = conv.new({"k": "v"}), conv.new(None)
    conv.create(store, a, [item("m1"), item("m2")], BUDGET)
    conv.create(store, b, [item("m1")], BUDGET)  # the same id in another conversation
    conv.append(store, a["id"], [item("m3"), item("m4")], BUDGET)
    assert [i["id"] for i in conv.items(store, a["id"])] == ["m1", "m2", "m3", "m4"]
    assert conv.page(store, a["id"], None, 3, "desc") == (
        [item("m4"), item("m3"), item("m2")],
        True,
    )
    assert conv.page(store, a["id"], "m2", 3, "asc") == ([item("m3"), item("m4")], False)
    assert conv.item(store, b["id"], "m1") == item("m1") and conv.item(store, b["id"], "m2") is None
    with pytest.raises(Conflict):
        conv.append(store, a["id"], [item("m5"), item("m3")], BUDGET)
    assert len(conv.items(store, a["id"])) == 4  # nothing of the refused group was added
    assert conv.delete_item(store, a["id"], "m1") == item("m1")
    assert conv.delete_item(store, a["id"], "m1") is None
    assert conv.delete(store, a["id"]) and not conv.delete(store, a["id"])
    assert conv.items(store, a["id"]) == [] and [i["id"] for i in conv.items(store, b["id"])] == ["m1"]


def test_the_cap_counts_items_and_bytes(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv, "MAX_ITEMS", 5)
    c = conv.new(None)
    conv.create(store, c, [item(f"m{i}") for i in range(3)], BUDGET)
    with pytest.raises(StorageFull):
        conv.append(store, c["id"], [item("a"), item("b"), item("c")], BUDGET)
    conv.append(store, c["id"], [item("a"), item("b")], BUDGET)
    with pytest.raises(StorageFull):
        conv.append(store, c["id"], [item("c")], BUDGET)
    monkeypatch.setattr(conv, "MAX_ITEMS", 100)
    monkeypatch.setattr(conv, "MAX_BYTES", stored_bytes(store) + 200)
    with pytest.raises(StorageFull):
        conv.append(store, c["id"], [item("big", "y" * 300)], BUDGET)
    conv.append(store, c["id"], [item("small")], BUDGET)


def test_every_byte_is_accounted_for(store: SQLiteStore) -> None:
    c = conv.new(None)
    conv.create(store, c, [item("m1")], BUDGET)
    conv.append(store, c["id"], [item("m2"), item("m3", "z" * 100)], BUDGET)
    assert store.expiring_bytes() == stored_bytes(store)
    assert store.update(conv.KIND, {**c, "metadata": {"k": "v" * 500}})  # grows
    conv.delete_item(store, c["id"], "m2")
    assert store.expiring_bytes() == stored_bytes(store)
    conv.delete(store, c["id"])
    assert store.expiring_bytes() == stored_bytes(store) == 0
    assert store._conn().execute("SELECT COUNT(*) FROM expiring").fetchone() == (0,)


def test_nothing_is_added_to_a_deleted_conversation(store: SQLiteStore) -> None:
    """The conversation is looked up in the transaction that adds: an add racing a delete either
    lands before it (and is deleted with it) or finds nothing to add to, never leaving orphans."""
    c = conv.new(None)
    conv.create(store, c, [item("m1")], BUDGET)
    assert conv.delete(store, c["id"])
    with pytest.raises(Missing):
        conv.append(store, c["id"], [item("m2")], BUDGET)
    assert stored_bytes(store) == 0 and store.expiring_bytes() == 0


def test_an_add_larger_than_the_budget_does_not_drop_its_own_conversation(store: SQLiteStore) -> None:
    c = conv.new(None)
    conv.create(store, c, [item("m1")], 10_000)
    with pytest.raises(StorageFull):
        conv.append(store, c["id"], [item(f"b{i}", "y" * 1_000) for i in range(15)], 10_000)
    assert store.get(conv.KIND, c["id"]) == c
    assert [i["id"] for i in conv.items(store, c["id"])] == ["m1"]
    assert store.expiring_bytes() == stored_bytes(store)
