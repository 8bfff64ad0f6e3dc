"""A Responses request's ``input`` (or a conversation's new ``items``) as the items it stores
(:func:`input_items`): messages, and the items other than messages that a client sends back
(``function_call``, ``function_call_output``, ``custom_tool_call``, ``custom_tool_call_output``,
``reasoning``, the hosted tools' ``file_search_call``, ``web_search_call``, ``image_generation_call``
and ``code_interpreter_call``, ``compaction``): each is checked against the fields the SDK's input
types give it, and stored with those fields only. So are the objects inside the fields the SDK types
(a web search's ``action`` and its ``sources``, the code interpreter's ``outputs``, a tool output's
content parts): a wrong ``type`` or field there is a 400 naming it (``input[1].action.type``); their
other fields are kept as sent.

An item is stored as it is read, and ``GET /v1/responses/{id}/input_items`` and a conversation's
items answer it again, so a field of the wrong type (``arguments: 5``) would come back out in a shape
the SDK cannot read. A field of the wrong type is a 400 naming it; a field the type does not have is
dropped, not refused, so output items sent back whole (``input += response.output``, with whatever
fields a newer API adds) still work.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fakeai.engine import compaction
from fakeai.errors import bad_request, shown
from fakeai.store import Obj

#: A field's check: True when right; False when wrong, or where inside it (``.type``, ``[0].url``).
Check = Callable[[object], "bool | str"]


def _string(value: object) -> bool:
    return isinstance(value, str)


def _optional_string(value: object) -> bool:
    return value is None or isinstance(value, str)


def _objects(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _summary(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, dict) and isinstance(v.get("text"), str) for v in value
    )


def _one_of(*allowed: str) -> Check:
    """One of ``allowed``, or null (an output item dumped by the SDK sends its unset fields as null)."""
    return lambda value: value is None or value in allowed


_STATUS = _one_of("in_progress", "completed", "incomplete")

#: A nested object's fields: each with its check, and whether it is required (null counts as absent).
Shape = dict[str, tuple[Check, bool]]


def _inside(result: bool | str) -> str | None:
    """Where a check's ``result`` says the value is wrong ('' the value itself), None when right."""
    return None if result is True else (result or "")


def _variant(shapes: dict[str, Shape]) -> Check:
    """An object whose ``type`` names one of ``shapes``, with that shape's fields (others kept)."""

    def check(value: object) -> bool | str:
        if not isinstance(value, dict):
            return False
        kind = value.get("type")
        shape = shapes.get(kind) if isinstance(kind, str) else None
        if shape is None:
            return ".type"
        for name, (field, required) in shape.items():
            if value.get(name) is None:
                if required:
                    return f".{name}"
                continue
            wrong = _inside(field(value[name]))
            if wrong is not None:
                return f".{name}{wrong}"
        return True

    return check


def _list_of(check: Check) -> Check:
    def each(value: object) -> bool | str:
        if not isinstance(value, list):
            return False
        for i, v in enumerate(value):
            wrong = _inside(check(v))
            if wrong is not None:
                return f"[{i}]{wrong}"
        return True

    return each


def _text_or(parts: Check) -> Check:
    return lambda value: isinstance(value, str) or parts(value)


_OPTIONAL = (_string, False)
_REQUIRED = (_string, True)
_FILE: Shape = {
    "detail": (_one_of("auto", "low", "high"), False),
    **dict.fromkeys(("file_data", "file_id", "file_url", "filename"), _OPTIONAL),
}


def _tool_output_parts(image_detail_required: bool) -> Check:
    """The content parts of a tool's output: a custom tool's (ResponseInputImage: ``detail``
    required) or a function's (ResponseInputImageContent: optional)."""
    image: Shape = {
        "detail": (_one_of("low", "high", "auto", "original"), image_detail_required),
        "file_id": _OPTIONAL,
        "image_url": _OPTIONAL,
    }
    return _list_of(_variant({"input_text": {"text": _REQUIRED}, "input_image": image, "input_file": _FILE}))


#: web_search_call.action (the SDK's ActionSearch, ActionOpenPage, ActionFind).
_WEB_SEARCH_ACTION = _variant(
    {
        "search": {
            "query": _OPTIONAL,
            "queries": (_strings, False),
            "sources": (_list_of(_variant({"url": {"url": _REQUIRED}})), False),
        },
        "open_page": {"url": _OPTIONAL},
        "find_in_page": {"pattern": _REQUIRED, "url": _REQUIRED},
    }
)
#: code_interpreter_call.outputs[] (OutputLogs, OutputImage).
_CODE_OUTPUTS = _list_of(_variant({"logs": {"logs": _REQUIRED}, "image": {"url": _REQUIRED}}))

#: The id prefix of an item of each type that a client sends without one.
PREFIXES = {
    "reasoning": "rs",
    "compaction": "cmp",
    "custom_tool_call": "ctc",
    "web_search_call": "ws",
    "image_generation_call": "ig",
    "code_interpreter_call": "ci",
}

#: Per item type: its fields (``type`` and ``id`` aside) with their check, and which are required.
FIELDS: dict[str, tuple[dict[str, Check], frozenset[str]]] = {
    "function_call": (
        {
            "call_id": _string,
            "name": _string,
            "arguments": _string,
            "namespace": _optional_string,
            "status": _STATUS,
            "caller": lambda v: v is None or isinstance(v, dict),
        },
        frozenset({"call_id", "name", "arguments"}),
    ),
    "function_call_output": (
        {
            "call_id": _string,
            "output": _text_or(_tool_output_parts(image_detail_required=False)),
            "name": _optional_string,
            "namespace": _optional_string,
            "status": _STATUS,
            "caller": lambda v: v is None or isinstance(v, dict),
        },
        frozenset({"call_id", "output"}),
    ),
    "reasoning": (
        {
            "summary": _summary,
            "content": lambda v: v is None or _objects(v),
            "encrypted_content": _optional_string,
            "status": _STATUS,
        },
        frozenset({"summary"}),
    ),
    "file_search_call": (
        {
            "queries": _strings,
            "status": _one_of("in_progress", "searching", "completed", "incomplete", "failed"),
            "results": lambda v: v is None or _objects(v),
        },
        frozenset(),
    ),
    "custom_tool_call": (
        {
            "call_id": _string,
            "name": _string,
            "input": _string,
            "namespace": _optional_string,
            "status": _STATUS,
        },
        frozenset({"call_id", "name", "input"}),
    ),
    "custom_tool_call_output": (
        {
            "call_id": _string,
            "output": _text_or(_tool_output_parts(image_detail_required=True)),
            "status": _STATUS,
        },
        frozenset({"call_id", "output"}),
    ),
    "web_search_call": (
        {
            "action": _WEB_SEARCH_ACTION,
            "status": _one_of("in_progress", "searching", "completed", "failed", "incomplete"),
        },
        frozenset({"action"}),
    ),
    "image_generation_call": (
        {
            "result": _optional_string,
            "status": _one_of("in_progress", "completed", "generating", "failed"),
            "revised_prompt": _optional_string,
            "size": _optional_string,
            "quality": _optional_string,
            "background": _optional_string,
            "output_format": _optional_string,
            "action": _optional_string,
        },
        frozenset(),
    ),
    "code_interpreter_call": (
        {
            "code": _optional_string,
            "container_id": _string,
            "outputs": lambda v: v is None or _CODE_OUTPUTS(v),
            "status": _one_of("in_progress", "completed", "incomplete", "interpreting", "failed"),
        },
        frozenset({"container_id"}),
    ),
    # its blob is read by compaction.opened, which names a bad one with OpenAI's code
    "compaction": ({"encrypted_content": lambda v: True}, frozenset()),
}


def checked(kind: str, item: Obj, item_id: str, where: str) -> Obj:
    """The stored form of ``item`` (a ``kind`` item at ``where``, e.g. ``input[2]``) under ``item_id``:
    its known fields, each of the right type (else a 400 naming it), the required ones present."""
    fields, required = FIELDS[kind]
    out: Obj = {"type": kind, "id": item_id}
    for name, check in fields.items():
        if item.get(name) is None and name not in required:  # absent, or null: not stored
            continue
        if name not in item:
            if name in required:
                raise bad_request(f"Missing required parameter: '{where}.{name}'.", param=f"{where}.{name}")
            continue
        wrong = _inside(check(item[name]))
        if wrong is not None:  # the field, or what inside it is wrong (``input[0].action.type``)
            raise bad_request(f"Invalid value for '{where}.{name}{wrong}'.", param=f"{where}.{name}{wrong}")
        out[name] = item[name]
    if kind == "function_call_output" and isinstance(out["output"], list):
        # sent as ResponseInputImageContent (``detail`` optional), listed back as ResponseInputImage
        # (``detail`` required): OpenAI's default
        out["output"] = [
            {**p, "detail": p.get("detail") or "auto"} if p["type"] == "input_image" else p
            for p in out["output"]
        ]
    if kind == "compaction":  # only a blob fakeai wrote is read
        compaction.opened(out.get("encrypted_content"), f"{where}.encrypted_content")
    elif kind != "reasoning":
        out.setdefault("status", "completed")
    return out


ROLES = ("user", "assistant", "system", "developer")


def item_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


#: The longest item id a client may give (OpenAI's are some 50 characters).
MAX_ITEM_ID = 256


def input_items(value: str | list[dict[str, Any]], param: str = "input") -> list[Obj]:
    """This request's ``input`` (or a conversation's new ``items``, named by ``param``) as stored
    items: each with an ``id`` (the client's, or a new one) and, but for reasoning, a ``status``."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    items = []
    for i, item in enumerate(value):
        kind = item.get("type", "message")
        given = item.get("id")
        if given is not None and not (
            isinstance(given, str) and 0 < len(given) <= MAX_ITEM_ID and "/" not in given
        ):
            raise bad_request(  # an id with a '/' could never be named in a URL path again
                f"'{param}[{i}].id' must be a string of 1 to {MAX_ITEM_ID} characters without '/'.",
                param=f"{param}[{i}].id",
            )
        if kind == "message":
            role, content = item.get("role"), item.get("content")
            if role not in ROLES:
                raise bad_request(
                    f"'{param}[{i}].role' must be one of {', '.join(ROLES)}.", param=f"{param}[{i}].role"
                )
            if isinstance(content, str):
                content = [{"type": "output_text" if role == "assistant" else "input_text", "text": content}]
            if not isinstance(content, list):
                raise bad_request(
                    f"'{param}[{i}].content' must be a string or a list.", param=f"{param}[{i}].content"
                )
            for j, part in enumerate(content):  # parts are objects, their text a string
                if not isinstance(part, dict) or not isinstance(part.get("text", ""), str):
                    where = f"{param}[{i}].content[{j}]"
                    raise bad_request(f"'{where}' must be an object whose 'text' is a string.", param=where)
            # output text as the SDK types it (``annotations`` required), however it was sent
            content = [{"annotations": [], **p} if _is_output_text(p) else p for p in content]
            items.append(
                {
                    "id": given or item_id("msg"),
                    "type": "message",
                    "role": role,
                    "content": content,
                    "status": "completed",
                }
            )
        elif isinstance(kind, str) and kind in FIELDS:  # checked, and stored with the SDK type's fields only
            prefix = PREFIXES.get(kind, "fc")
            items.append(checked(kind, item, given or item_id(prefix), f"{param}[{i}]"))
        else:
            raise bad_request(f"Unsupported input item type: {shown(kind)}.", param=f"{param}[{i}].type")
    if not items:
        raise bad_request(f"'{param}' must not be empty.", param=param)
    return items


def _is_output_text(part: object) -> bool:
    return isinstance(part, dict) and part.get("type") == "output_text"
