"""The rows of an eval run's data source, and the check of each row against the eval's schema.

A row is ``(item, sample)``: ``sample`` is the row's own (a ``jsonl`` line may carry one), or None.

- ``file_content``: the rows the request holds (checked when the run is created).
- ``file_id``: a stored file (any purpose; ``evals`` is OpenAI's), opened once and read from that
  descriptor (:meth:`fakeai.store.base.Store.open_blob`): one JSON object a line, ``{"item": {...},
  "sample": {...}}`` or the item itself. At most :data:`~fakeai.schemas.evals.MAX_ITEMS` rows and
  :data:`MAX_FILE_BYTES` bytes are read; more, a line that is not an object, or a row outside the
  schema fails the run (``invalid_data_source``).
- ``stored_completions`` (a ``completions`` run's source): the stored chat completions, newest first,
  filtered by ``model``, ``metadata`` and ``created_after``/``created_before``, at most ``limit``;
  each row's item is ``{"input": messages, "metadata": ...}`` and its sample the completion's answer.
- ``responses`` (a ``responses`` run's source): the stored responses so filtered (and by
  ``instructions_search``, ``temperature``, ``top_p``, ``users``); item ``{"input": the request's
  input items, "metadata": ...}``, sample the response's output text.

A ``custom`` eval checks every row's item against its ``item_schema`` with the JSON Schema keywords
``type``, ``enum``, ``const``, ``properties``, ``required``, ``additionalProperties: false`` and
``items`` (others are accepted and not enforced).
"""

from __future__ import annotations

from typing import Any, BinaryIO

import msgspec

from fakeai.engine.templates import sample_namespace
from fakeai.schemas.common import MAX_JSON_DEPTH, nested_too_deep
from fakeai.schemas.evals import MAX_ITEMS
from fakeai.store import Obj, Store
from fakeai.store.chat_completions import KIND as COMPLETIONS
from fakeai.store.chat_completions import MESSAGES_KIND

MAX_FILE_BYTES = 64 * 1024 * 1024
PAGE = 100

Row = tuple[Obj, Obj | None]
_any = msgspec.json.Decoder()


class BadData(Exception):
    """The data source cannot be read as rows (the run fails with ``invalid_data_source``)."""


def _is(kind: Any, value: Any) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "integer":
        return not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
    if kind == "number":
        return not isinstance(value, bool) and isinstance(value, (int, float))
    return True  # a type JSON Schema does not define: not enforced


def schema_problem(schema: Any, value: Any, path: str = "item") -> str | None:
    """Why ``value`` does not satisfy ``schema`` (the keywords of the module docs), or None."""
    if not isinstance(schema, dict):
        return None
    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(kind, value) for kind in allowed):
            return f"{path} is not of type {' or '.join(map(str, allowed))}"
    if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        return f"{path} is not one of the schema's enum values"
    if "const" in schema and value != schema["const"]:
        return f"{path} is not the schema's const value"
    if isinstance(value, dict):
        for name in schema.get("required") or ():
            if isinstance(name, str) and name not in value:
                return f"{path}.{name} is required"
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        for name, sub in properties.items():
            if name in value:
                problem = schema_problem(sub, value[name], f"{path}.{name}")
                if problem:
                    return problem
        if schema.get("additionalProperties") is False:
            extra = next((name for name in value if name not in properties), None)
            if extra is not None:
                return f"{path}.{extra} is not a property the schema allows"
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for at, element in enumerate(value):
            problem = schema_problem(schema["items"], element, f"{path}[{at}]")
            if problem:
                return problem
    return None


def read_file(f: BinaryIO) -> list[Row]:
    """The rows of a JSON Lines file (open, closed here)."""
    rows: list[Row] = []
    read = 0
    with f:
        for number, line in enumerate(f, 1):
            read += len(line)
            if read > MAX_FILE_BYTES:
                raise BadData(f"the file is larger than {MAX_FILE_BYTES} bytes")
            if not line.strip():
                continue
            if len(rows) >= MAX_ITEMS:
                raise BadData(f"the file holds more than {MAX_ITEMS} rows")
            if nested_too_deep(line):
                raise BadData(f"line {number} nests more than {MAX_JSON_DEPTH} levels")
            try:
                value = _any.decode(line)
            except msgspec.DecodeError as exc:
                raise BadData(f"line {number} is not JSON ({exc})") from None
            if not isinstance(value, dict):
                raise BadData(f"line {number} is not a JSON object")
            if isinstance(value.get("item"), dict):
                sample = value.get("sample")
                rows.append((value["item"], sample if isinstance(sample, dict) else None))
            else:
                rows.append((value, None))
    return rows


def _stored(store: Store, kind: str, source: Obj, tag: str | None, keep: Any) -> list[Obj]:
    """Stored objects of ``kind``, newest first, passing the source's filters and ``keep``."""
    limit = min(source.get("limit") or MAX_ITEMS, MAX_ITEMS)
    after_id: str | None = None
    found: list[Obj] = []
    while len(found) < limit:
        page, more = store.page(kind, tag=tag, after=after_id, limit=PAGE, metadata=source.get("metadata"))
        for obj in page:
            created = obj.get("created_at", obj.get("created", 0))
            if source.get("created_after") is not None and created < source["created_after"]:
                continue
            if source.get("created_before") is not None and created > source["created_before"]:
                continue
            if keep(obj):
                found.append(obj)
        if not more or not page:
            break
        after_id = page[-1]["id"]
    return found[:limit]


def stored_completions(store: Store, source: Obj) -> list[Row]:
    rows: list[Row] = []
    for completion in _stored(store, COMPLETIONS, source, source.get("model"), lambda _: True):
        held = store.get(MESSAGES_KIND, completion["id"])
        messages = [
            {"role": m.get("role"), "content": m.get("content")} for m in (held or {}).get("data", [])
        ]
        choice = (completion.get("choices") or [{}])[0]
        text = (choice.get("message") or {}).get("content") or ""
        sample = sample_namespace(
            text,
            choices=completion.get("choices"),
            model=completion.get("model"),
            usage=completion.get("usage"),
        )
        rows.append(({"input": messages, "metadata": completion.get("metadata")}, sample))
    return rows


def _response_text(response: Obj) -> str:
    return "".join(
        part.get("text", "")
        for item in response.get("output") or ()
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if part.get("type") == "output_text"
    )


def stored_responses(store: Store, source: Obj) -> list[Row]:
    def keep(response: Obj) -> bool:
        for key in ("model", "temperature", "top_p"):
            if source.get(key) is not None and response.get(key) != source[key]:
                return False
        search = source.get("instructions_search")
        if search and search not in (response.get("instructions") or ""):
            return False
        if source.get("users") and response.get("user") not in source["users"]:
            return False
        effort = (response.get("reasoning") or {}).get("effort")
        return source.get("reasoning_effort") is None or effort == source["reasoning_effort"]

    rows: list[Row] = []
    for response in _stored(store, "response", source, None, keep):
        held = store.get("response.input", response["id"]) or {}
        sample = sample_namespace(
            _response_text(response), model=response.get("model"), usage=response.get("usage")
        )
        rows.append(({"input": held.get("items", []), "metadata": response.get("metadata")}, sample))
    return rows
