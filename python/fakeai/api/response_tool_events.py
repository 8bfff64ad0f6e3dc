"""The streamed events of a response's custom tool calls and hosted tool calls, between each item's
``response.output_item.added`` and ``response.output_item.done`` (:func:`fakeai.api.responses.events`
sends those, and the sequence numbers):

- ``custom_tool_call``: ``response.custom_tool_call_input.delta`` per word of its input (one ITL
  apart), then ``response.custom_tool_call_input.done``.
- ``web_search_call``: ``response.web_search_call.in_progress``, ``.searching``, ``.completed``.
- ``image_generation_call``: ``response.image_generation_call.in_progress``, ``.generating``, one
  ``.partial_image`` per ``partial_images`` of its tool, ``.completed``.
- ``code_interpreter_call``: ``response.code_interpreter_call.in_progress``,
  ``response.code_interpreter_call_code.delta`` per line of its code, ``..._code.done``,
  ``response.code_interpreter_call.interpreting``, ``.completed``.

A hosted call's events are spread over its simulated time (:data:`fakeai.engine.hosted_tools.SECONDS`),
which delays what follows it; and the message's ``response.output_text.annotation.added`` events
(:func:`annotation_events`) come after the delta that ends each annotation's span.
"""

from __future__ import annotations

import re
from typing import Any

from fakeai.engine import hosted_tools
from fakeai.engine.response_tools import kind
from fakeai.store import Obj

#: An event: (seconds from the item's start, type, fields besides ``type`` and ``sequence_number``).
Event = tuple[float, str, dict[str, Any]]

_PIECE = re.compile(r"\s*\S+\s*")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")

#: The item types whose events are here.
KINDS = ("custom_tool_call", "web_search_call", "image_generation_call", "code_interpreter_call")


def added(item: Obj) -> Obj:
    """The item as ``response.output_item.added`` shows it: in progress, nothing written yet."""
    empty: dict[str, Obj] = {
        "custom_tool_call": {"input": ""},
        "web_search_call": {"action": {"type": "search"}},
        "image_generation_call": {"result": None},
        "code_interpreter_call": {"code": "", "outputs": None},
    }
    return {**item, "status": "in_progress", **empty[item["type"]]}


def item_events(
    item: Obj, index: int, tools: list[Obj], itl: float, latency_on: bool
) -> tuple[list[Event], float]:
    """``(the item's events, the seconds it takes)`` (see the module docs)."""
    ids = {"item_id": item["id"], "output_index": index}
    kind_ = item["type"]
    busy = hosted_tools.seconds([item], latency_on)
    if kind_ == "custom_tool_call":
        pieces = _PIECE.findall(item["input"]) or [item["input"]]
        out = [
            (i * itl, "response.custom_tool_call_input.delta", {"delta": p, **ids})
            for i, p in enumerate(pieces)
        ]
        done_at = len(pieces) * itl
        return [
            *out,
            (done_at, "response.custom_tool_call_input.done", {"input": item["input"], **ids}),
        ], done_at
    if kind_ == "web_search_call":
        phases = ("in_progress", "searching", "completed")
        return [(busy * (i == 2), f"response.web_search_call.{p}", ids) for i, p in enumerate(phases)], busy
    if kind_ == "image_generation_call":
        tool = next((t for t in tools if kind(t) == "image_generation"), {})
        partials = hosted_tools.partial_images(tool, item)
        out = [(0.0, "response.image_generation_call.in_progress", ids)]
        out.append((0.0, "response.image_generation_call.generating", ids))
        for i, b64 in enumerate(partials):
            fields = {"partial_image_b64": b64, "partial_image_index": i, **ids}
            fields |= {k: item[k] for k in ("size", "quality", "background", "output_format") if item.get(k)}
            out.append(
                (busy * (i + 1) / (len(partials) + 1), "response.image_generation_call.partial_image", fields)
            )
        return [*out, (busy, "response.image_generation_call.completed", ids)], busy
    code = item.get("code") or ""
    lines = _LINE.findall(code)
    out = [(0.0, "response.code_interpreter_call.in_progress", ids)]
    writing = busy / 2
    for i, line in enumerate(lines):
        out.append(
            (
                writing * i / max(len(lines), 1),
                "response.code_interpreter_call_code.delta",
                {"delta": line, **ids},
            )
        )
    out.append((writing, "response.code_interpreter_call_code.done", {"code": code, **ids}))
    out.append((writing, "response.code_interpreter_call.interpreting", ids))
    return [*out, (busy, "response.code_interpreter_call.completed", ids)], busy


def annotation_events(part: Obj, pieces: list[str], ids: Obj) -> dict[int, list[tuple[str, Obj]]]:
    """The ``response.output_text.annotation.added`` events of a message's text ``part`` streamed as
    ``pieces``, by the index of the piece after which each comes (the one its span ends in; a
    ``file_citation``, whose ``index`` is the text's end, after the last)."""
    ends = []
    at = 0
    for piece in pieces:
        at += len(piece)
        ends.append(at)
    out: dict[int, list[tuple[str, Obj]]] = {}
    for j, annotation in enumerate(part.get("annotations") or ()):
        end = annotation.get("end_index", annotation.get("index", at))
        after = next((i for i, e in enumerate(ends) if e >= end), len(pieces) - 1)
        fields = {**ids, "annotation_index": j, "annotation": annotation}
        out.setdefault(after, []).append(("response.output_text.annotation.added", fields))
    return out
