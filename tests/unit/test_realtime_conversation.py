"""A Realtime session's conversation (:mod:`fakeai.api.realtime_conversation`): its bounds and totals."""

from __future__ import annotations

from fakeai.api import realtime_conversation
from fakeai.api.realtime_conversation import Conversation


def text_item(n: int, text: str) -> dict:
    return {
        "id": f"item_{n}",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def test_the_oldest_items_leave_past_the_byte_bound_and_the_totals_follow(monkeypatch):
    monkeypatch.setattr(realtime_conversation, "MAX_BYTES", 10_000)
    conversation = Conversation()
    for n in range(30):
        conversation.add(text_item(n, "x" * 1000), audio_tokens=2)
    kept = [item["id"] for item, _ in conversation]
    assert kept == [f"item_{n}" for n in range(30 - len(kept), 30)] and 5 <= len(kept) < 10
    assert conversation.bytes <= 10_000
    assert conversation.text_chars == 1000 * len(kept)
    assert conversation.audio_tokens == 2 * len(kept)
    assert conversation.last_id() == "item_29"


def test_the_newest_item_stays_even_when_it_alone_is_over_the_bound(monkeypatch):
    monkeypatch.setattr(realtime_conversation, "MAX_BYTES", 100)
    conversation = Conversation()
    conversation.add(text_item(0, "small"))
    conversation.add(text_item(1, "y" * 500))
    assert [item["id"] for item, _ in conversation] == ["item_1"]
    assert conversation.text_chars == 500


def test_the_item_count_is_bounded(monkeypatch):
    monkeypatch.setattr(realtime_conversation, "MAX_ITEMS", 3)
    conversation = Conversation()
    for n in range(5):
        conversation.add(text_item(n, "a"))
    assert [item["id"] for item, _ in conversation] == ["item_2", "item_3", "item_4"]
    assert conversation.text_chars == 3


def test_an_item_filled_in_later_is_measured_again():
    conversation = Conversation()
    conversation.add(text_item(0, "question"))
    answer = {"id": "item_1", "type": "message", "role": "assistant", "content": []}
    conversation.add(answer)
    before = conversation.bytes
    answer["content"] = [{"type": "output_text", "text": "an answer of some length"}]
    conversation.changed(answer)
    assert conversation.text_chars == len("question") + len("an answer of some length")
    assert conversation.bytes > before
    conversation.changed({"id": "gone"})  # an item no longer kept: nothing to do
    assert conversation.text_chars == len("question") + len("an answer of some length")
