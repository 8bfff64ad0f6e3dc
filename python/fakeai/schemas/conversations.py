"""Request bodies of ``/v1/conversations`` (items are Responses API input items, checked by
:func:`fakeai.engine.response_items.input_items`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from fakeai.store.conversations import MAX_ADDED

#: At most :data:`~fakeai.store.conversations.MAX_ADDED` items a request, as OpenAI allows.
Items = Annotated[list[dict[str, Any]], Meta(max_length=MAX_ADDED)]


class CreateConversation(msgspec.Struct):
    items: Items | None = None
    metadata: dict[str, str] | None = None
    safety_identifier: Annotated[str, Meta(max_length=512)] | None = None


class UpdateConversation(msgspec.Struct):
    """``metadata`` is required (null clears it), as in OpenAI's API."""

    metadata: dict[str, str] | None


class AddItems(msgspec.Struct):
    items: Items
