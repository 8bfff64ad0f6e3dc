"""What a stored chat completion (``POST /v1/chat/completions`` with ``store: true``) keeps, as OpenAI
keeps it: the ``chat.completion`` object with the request's ``metadata``, and the request's messages as
``ChatCompletionStoreMessage`` items.

A streamed completion is stored as the ``chat.completion`` its chunks assemble into (:func:`assemble`):
per choice the deltas' text fields joined (``content``, ``refusal``, ``reasoning_content``, an audio
``transcript``/``data``), tool calls merged by their ``index`` with their ``arguments`` joined, the
logprobs' token lists joined, the last ``finish_reason``; ``usage`` is the stream's own (with
``stream_options.include_usage``) or, without it, the answer's token counts.

Both objects are one expiring group (:meth:`fakeai.store.base.Store.insert_expiring`), tagged with the
completion's ``model`` so that the list's ``model`` filter is an indexed lookup.
"""

from __future__ import annotations

from typing import Any

import orjson

from fakeai import _core
from fakeai.schemas.chat import ImagePart, Message, TextPart
from fakeai.store.base import Obj

#: The stored ``chat.completion`` objects, and their requests' messages (``{"id", "data"}``).
KIND = "chat.completion"
MESSAGES_KIND = "chat.completion.messages"

#: Delta fields whose string pieces are joined; any other string (an id, a name, a role) is set.
_JOINED = frozenset(
    {"content", "refusal", "reasoning_content", "reasoning", "arguments", "transcript", "data"}
)


class _Pieces(list[str]):
    """A joined delta field's pieces, joined once at the end (appending to a string would copy it)."""


def _merge(into: dict[str, Any], delta: dict[str, Any]) -> None:
    """Fold one delta (or a nested object of one) into what the earlier deltas made."""
    for key, value in delta.items():
        if key == "tool_calls" and isinstance(value, list):
            calls: list[dict[str, Any]] = into.setdefault("tool_calls", [])
            for call in value:
                index = call.get("index", len(calls))
                while len(calls) <= index:
                    calls.append({})
                _merge(calls[index], {k: v for k, v in call.items() if k != "index"})
        elif isinstance(value, dict):
            nested = into.get(key)
            if not isinstance(nested, dict):
                nested = into[key] = {}
            _merge(nested, value)
        elif isinstance(value, str) and key in _JOINED:
            pieces = into.get(key)
            if isinstance(pieces, _Pieces):
                pieces.append(value)
            else:
                into[key] = _Pieces((value,))
        elif value is not None or key not in into:
            into[key] = value


def _joined(value: Any) -> Any:
    """``value`` with every :class:`_Pieces` joined."""
    if isinstance(value, _Pieces):
        return "".join(value)
    if isinstance(value, dict):
        return {k: _joined(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_joined(v) for v in value]
    return value


def _settled(message: dict[str, Any]) -> dict[str, Any]:
    """A choice's assembled message as a non-streamed reply has it: a spoken reply's ``content`` is
    null (its stream opens with an empty one), and ``annotations`` are empty."""
    message = _joined(message)
    if message.get("audio") and message["content"] == "":
        message["content"] = None
    return {**message, "annotations": []}


def assemble(steps: list[bytes] | _core.Steps, prompt_tokens: int, completion_tokens: int) -> Obj:
    """The ``chat.completion`` a stream's SSE steps (each one or more ``data:`` events) make up."""
    head: Obj = {}
    choices: dict[int, Obj] = {}
    usage = None
    for i in range(len(steps)):  # a long stream's steps are rendered on demand: index, do not copy
        for event in steps[i].split(b"\n\n"):
            if not event.startswith(b"data: {"):
                continue  # the blank tail, [DONE]
            chunk = orjson.loads(event[6:])
            if not head:
                head = chunk
            usage = chunk.get("usage") or usage
            for part in chunk.get("choices") or ():
                choice = choices.setdefault(
                    part["index"],
                    {"message": {"role": "assistant", "content": None, "refusal": None}, "logprobs": None},
                )
                _merge(choice["message"], part.get("delta") or {})
                logprobs = part.get("logprobs")
                if logprobs:
                    kept = choice["logprobs"] or {"content": None, "refusal": None}
                    for key in ("content", "refusal"):
                        if logprobs.get(key) is not None:
                            kept[key] = kept[key] or []
                            kept[key].extend(logprobs[key])
                    choice["logprobs"] = kept
                if part.get("finish_reason") is not None:
                    choice["finish_reason"] = part["finish_reason"]
    if usage is None:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return {
        "id": head.get("id"),
        "object": "chat.completion",
        "created": head.get("created"),
        "model": head.get("model"),
        "choices": [
            {
                "index": index,
                "message": _settled(c["message"]),
                "logprobs": c["logprobs"],
                "finish_reason": c.get("finish_reason"),
            }
            for index, c in sorted(choices.items())
        ],
        "usage": usage,
        "service_tier": head.get("service_tier"),
        "system_fingerprint": head.get("system_fingerprint"),
    }


def store_message(completion_id: str, index: int, message: Message) -> Obj:
    """One request message as a ``ChatCompletionStoreMessage``: id ``{completion_id}-{index}``, its
    role, ``content`` (a parts array's text parts joined, ``content_parts`` keeping its text and image
    parts), ``name``, and the assistant's and tool's own fields when given."""
    content = message.content
    parts: list[Obj] | None = None
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, TextPart):
                parts.append({"type": "text", "text": part.text})
            elif isinstance(part, ImagePart):
                image = part.image_url
                parts.append({"type": "image_url", "image_url": {"url": image.url, "detail": image.detail}})
        texts = [p["text"] for p in parts if p["type"] == "text"]
        content = "".join(texts) if texts else None
    item: Obj = {
        "id": f"{completion_id}-{index}",
        "role": message.role,
        "content": content,
        "name": message.name,
        "content_parts": parts,
    }
    for key in ("tool_calls", "tool_call_id", "function_call", "refusal"):
        value = getattr(message, key)
        if value is not None:
            item[key] = value
    return item
