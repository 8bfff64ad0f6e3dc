"""Conversations in the store: the ``conversation`` object and its items, as ``/v1/conversations`` and
the Responses API's ``conversation`` parameter read and append them.

A conversation is an *expiring* object (:meth:`fakeai.store.base.Store.insert_expiring`), and so is
every item: they count against ``--max-expiring-bytes`` beside stored responses, and past it the oldest
go first (a dropped conversation is a 404 like an unknown id; items of one still kept can go before
it, oldest first). Each create or add is one group, tagged with the conversation's id, so a page of
items is one indexed range of the store in the order they were added. An item is kept as
``{"id": "<conversation id>/<item id>", "item": {...}}``: item ids are unique within a conversation
(the row id makes that a constraint of the store, so adding an id twice is a :class:`Conflict`),
while the same item may be in two conversations.

Bounds: at most :data:`MAX_ADDED` items per create or add (OpenAI's number), and :data:`MAX_ITEMS`
of :data:`MAX_BYTES` in all per conversation (fakeai's: a response reads the whole conversation as
its context), checked in the transaction that adds them, so two workers adding at once cannot pass
them.
"""

from __future__ import annotations

import secrets
import time

from fakeai.store.base import Cap, Obj, Store

KIND = "conversation"
ITEM_KIND = "conversation.item"

#: Items one create or add may carry, as OpenAI allows ("up to 20 items at a time").
MAX_ADDED = 20
#: Items one conversation may hold, and their bytes (as stored JSON). OpenAI documents no number; a
#: response reads every item of its conversation as its context, so fakeai keeps both (a 400 past
#: either): more text than any model's context window takes (a million tokens is some 4 MB), with
#: room for inline images.
MAX_ITEMS = 1000
MAX_BYTES = 32 * 1024 * 1024


def new(metadata: dict[str, str] | None) -> Obj:
    """A new ``conversation`` object (id ``conv_`` + 48 hex digits, as OpenAI's)."""
    return {
        "id": "conv_" + secrets.token_hex(24),
        "object": "conversation",
        "created_at": int(time.time()),
        "metadata": metadata or {},
    }


def _row(conversation_id: str, item: Obj) -> Obj:
    return {"id": f"{conversation_id}/{item['id']}", "item": item}


def create(store: Store, conversation: Obj, items: list[Obj], budget: int) -> None:
    """Store a new conversation with its first items (one group); :class:`~fakeai.store.base.
    StorageFull` past :data:`MAX_BYTES`."""
    rows = [(ITEM_KIND, _row(conversation["id"], item)) for item in items]
    cap = Cap(ITEM_KIND, conversation["id"], MAX_ITEMS, MAX_BYTES)
    store.insert_expiring([(KIND, conversation), *rows], budget, tag=conversation["id"], cap=cap)


def append(store: Store, conversation_id: str, items: list[Obj], budget: int) -> None:
    """Add items after the conversation's others: :class:`~fakeai.store.base.StorageFull` past
    :data:`MAX_ITEMS` or :data:`MAX_BYTES` (or past the whole budget at once),
    :class:`~fakeai.store.base.Conflict` for an id it holds already, :class:`~fakeai.store.base.Missing`
    when the conversation is gone (deleted or dropped meanwhile: checked in the same transaction)."""
    rows = [(ITEM_KIND, _row(conversation_id, item)) for item in items]
    cap = Cap(ITEM_KIND, conversation_id, MAX_ITEMS, MAX_BYTES, parent=(KIND, conversation_id))
    store.insert_expiring(rows, budget, tag=conversation_id, cap=cap)


def items(store: Store, conversation_id: str) -> list[Obj]:
    """Every item of the conversation, oldest first."""
    return [row["item"] for row in store.all(ITEM_KIND, tag=conversation_id)]


def page(
    store: Store, conversation_id: str, after: str | None, limit: int, order: str
) -> tuple[list[Obj], bool]:
    """A cursor page of the conversation's items (``after`` an item id) and whether more follow."""
    rows, more = store.page(
        ITEM_KIND,
        tag=conversation_id,
        after=None if after is None else f"{conversation_id}/{after}",
        limit=limit,
        order=order,
    )
    return [row["item"] for row in rows], more


def item(store: Store, conversation_id: str, item_id: str) -> Obj | None:
    row = store.get(ITEM_KIND, f"{conversation_id}/{item_id}")
    return None if row is None else row["item"]


def delete_item(store: Store, conversation_id: str, item_id: str) -> Obj | None:
    row = store.delete(ITEM_KIND, f"{conversation_id}/{item_id}")
    return None if row is None else row["item"]


def delete(store: Store, conversation_id: str) -> bool:
    """Delete the conversation and its items (unreachable without it); whether there was one."""
    if store.delete(KIND, conversation_id) is None:
        return False
    store.delete_all(ITEM_KIND, tag=conversation_id)
    return True
