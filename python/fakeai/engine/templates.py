"""Template strings of graders and eval runs: ``{{item.x}}``, ``{{sample.output_text}}``,
``{{sample.output_json.answer}}``, as OpenAI's graders guide writes them.

1. A variable is ``{{ namespace.path }}`` (spaces inside the braces allowed); the namespaces are
   ``item`` (the data source row) and ``sample`` (the model's answer: ``output_text``, ``output_json``
   when the text is JSON, ``output_tools``, ``choices``, ``model``, ``usage``). A path goes down
   object keys with ``.`` and array elements with ``[n]``: ``{{item.turns[0].content}}``.
2. A string value is put in as it is; any other value (number, boolean, null, object, array) as its
   JSON text, as OpenAI renders structured variables.
3. A variable that names nothing (a missing key, an index past the end, a namespace other than
   ``item`` and ``sample``) renders as the empty string and is reported in ``missing``: an eval run
   counts that row as errored, ``/v1/fine_tuning/alpha/graders/run`` sets ``invalid_variable_error``.
4. A rendered text is at most :data:`MAX_RENDERED_CHARS` characters: a row whose variables would
   make it longer raises :class:`TooLarge` (checked as it grows, before joining).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

#: The longest text one template may render to (a row's variable repeated in a template cannot
#: make more than this).
MAX_RENDERED_CHARS = 1_000_000
NAMESPACES = ("item", "sample")

VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_STEP = re.compile(r"\.?([A-Za-z_][\w\-]*)|\[(\d{1,9})\]")
_MISSING = object()


class TooLarge(Exception):
    """A template renders to more than :data:`MAX_RENDERED_CHARS` characters."""


def variables(text: str) -> Iterator[str]:
    """The variable paths a template names, in order."""
    for match in VARIABLE.finditer(text):
        yield match.group(1)


def check_path(path: str) -> str | None:
    """Why ``path`` cannot name a variable (not ``item`` or ``sample`` first, or not a path), or None."""
    steps = _steps(path)
    if steps is None:
        return f"'{{{{{path[:64]}}}}}' is not a variable path such as '{{{{item.name}}}}'"
    if steps[0] not in NAMESPACES:
        return f"'{{{{{path[:64]}}}}}' names neither the 'item' nor the 'sample' namespace"
    return None


def _steps(path: str) -> list[str | int] | None:
    steps: list[str | int] = []
    at = 0
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None or (at == 0 and match.group(0).startswith((".", "["))):
            return None
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        at = match.end()
    return steps or None


def lookup(namespace: dict[str, Any], path: str) -> Any:
    """The value ``path`` names in ``namespace`` (``{"item": ..., "sample": ...}``), or
    :data:`_MISSING` (test with :func:`found`)."""
    steps = _steps(path)
    if steps is None:
        return _MISSING
    value: Any = namespace
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
            value = value[step]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def found(value: Any) -> bool:
    return value is not _MISSING


def as_text(value: Any) -> str:
    """A variable's value as a template puts it in (rule 2)."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def render(text: str, namespace: dict[str, Any], missing: list[str]) -> str:
    """``text`` with every variable replaced from ``namespace``; unknown ones are appended to
    ``missing`` and render as nothing."""
    if "{{" not in text:
        return text
    pieces: list[str] = []
    size = 0
    at = 0
    for match in VARIABLE.finditer(text):
        value = lookup(namespace, match.group(1))
        if value is _MISSING:
            missing.append(match.group(1))
            value = ""
        piece = as_text(value)
        size += match.start() - at + len(piece)
        if size > MAX_RENDERED_CHARS:
            raise TooLarge(f"the template renders to more than {MAX_RENDERED_CHARS} characters")
        pieces += (text[at : match.start()], piece)
        at = match.end()
    pieces.append(text[at:])
    if size + len(text) - at > MAX_RENDERED_CHARS:
        raise TooLarge(f"the template renders to more than {MAX_RENDERED_CHARS} characters")
    return "".join(pieces)


def sample_namespace(output_text: str, **fields: Any) -> dict[str, Any]:
    """The ``sample`` namespace of a model answer: its text, ``output_json`` when that text is JSON
    (else null), and any other ``fields`` (``choices``, ``model``, ``usage``, ``output_tools``)."""
    try:
        output_json = orjson.loads(output_text) if output_text.lstrip()[:1] in ("{", "[") else None
    except orjson.JSONDecodeError:
        output_json = None
    return {"output_text": output_text, "output_json": output_json, "output_tools": [], **fields}
