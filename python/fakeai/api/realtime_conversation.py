"""One Realtime session's conversation: its items, newest last, within a bounded size.

A session's items come from the client (``conversation.item.create``, committed audio) and from its
own responses, for as long as the socket stays open. OpenAI's default ``truncation`` (``auto``) drops
the oldest items from what the model reads once the conversation outgrows its context; here the
oldest items are dropped once the conversation holds more than :data:`MAX_ITEMS` items or
:data:`MAX_BYTES` bytes of items (their JSON), the newest item always kept. So a session's memory is
bounded however long it runs, and each response renders a bounded conversation.

Committed audio is kept as its length only: a response counts one input token per 100 ms of it and
never reads the samples.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

#: Most items a conversation keeps, and most bytes of items (the newest one always stays: a client
#: event, and so an item, is at most 15 MiB).
MAX_ITEMS = 4096
MAX_BYTES = 16 * 1024 * 1024


class Conversation:
    """The items of one session, with the totals a response needs (see the module docs)."""

    __slots__ = ("audio_tokens", "bytes", "items", "text_chars")

    def __init__(self) -> None:
        #: ``(item, its JSON size, its text characters, its audio tokens)``, oldest first.
        self.items: deque[tuple[dict[str, Any], int, int, int]] = deque()
        self.bytes = 0
        #: Characters of the items' text parts, and input tokens of their committed audio.
        self.text_chars = 0
        self.audio_tokens = 0

    def last_id(self) -> str | None:
        return self.items[-1][0]["id"] if self.items else None

    def add(self, item: dict[str, Any], audio_tokens: int = 0) -> None:
        """Append ``item`` (with the tokens of its committed audio), dropping the oldest items past the
        bounds."""
        size, chars = _measure(item)
        self.items.append((item, size, chars, audio_tokens))
        self.bytes += size
        self.text_chars += chars
        self.audio_tokens += audio_tokens
        self._fit()

    def changed(self, item: dict[str, Any]) -> None:
        """``item``, added earlier, was filled in (a response's item, once its text is known)."""
        for i in range(len(self.items) - 1, -1, -1):  # the newest, or nearly: a response's own item
            kept, size, chars, audio_tokens = self.items[i]
            if kept is item:
                new_size, new_chars = _measure(item)
                self.items[i] = (item, new_size, new_chars, audio_tokens)
                self.bytes += new_size - size
                self.text_chars += new_chars - chars
                self._fit()
                return

    def _fit(self) -> None:
        while len(self.items) > 1 and (len(self.items) > MAX_ITEMS or self.bytes > MAX_BYTES):
            _, size, chars, audio_tokens = self.items.popleft()
            self.bytes -= size
            self.text_chars -= chars
            self.audio_tokens -= audio_tokens

    def __iter__(self):
        """``(item, its audio tokens)``, oldest first."""
        return ((item, audio) for item, _, _, audio in self.items)


def _measure(item: dict[str, Any]) -> tuple[int, int]:
    """An item's JSON size, and the characters of its text parts."""
    chars = sum(len(str(p.get("text") or "")) for p in item.get("content") or () if isinstance(p, dict))
    return len(orjson.dumps(item)), chars
