"""What a file's content must look like for the purposes that fakeai reads back: ``batch`` and
``fine-tune`` files are JSON Lines, checked line by line when uploaded (errors name the line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec

from fakeai.errors import bad_request
from fakeai.schemas.common import MAX_JSON_DEPTH, nested_too_deep

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
BATCH_ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")
MAX_BATCH_LINES = 50_000
MAX_REPORTED_ERRORS = 5


class BatchLine(msgspec.Struct, forbid_unknown_fields=False):
    """One request of a batch input file."""

    custom_id: str
    method: Literal["POST"]
    url: str
    body: msgspec.Raw


class HasModel(msgspec.Struct):
    model: str


class Message(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Any = None


class ChatExample(msgspec.Struct):
    """Supervised fine-tuning, chat format."""

    messages: list[Message]


class DpoInput(msgspec.Struct):
    messages: list[Message]


class DpoExample(msgspec.Struct):
    """Direct preference optimisation: one prompt, a preferred and a non-preferred answer."""

    input: DpoInput
    preferred_output: list[Message]
    non_preferred_output: list[Message]


class PromptExample(msgspec.Struct):
    """Legacy prompt/completion format."""

    prompt: str
    completion: str


_batch = msgspec.json.Decoder(BatchLine)
_has_model = msgspec.json.Decoder(HasModel)
_formats = [msgspec.json.Decoder(t) for t in (ChatExample, DpoExample, PromptExample)]


def _batch_error(line: bytes, seen: set[str]) -> str | None:
    try:
        req = _batch.decode(line)
    except msgspec.DecodeError as exc:
        return str(exc)
    if req.url not in BATCH_ENDPOINTS:
        return f"url must be one of {', '.join(BATCH_ENDPOINTS)}, got '{req.url}'"
    try:
        _has_model.decode(req.body)
    except msgspec.DecodeError as exc:
        return f"body: {exc}"
    if req.custom_id in seen:
        return f"custom_id '{req.custom_id}' is not unique"
    seen.add(req.custom_id)
    return None


def _fine_tune_error(line: bytes, seen: set[str]) -> str | None:
    errors = []
    for decoder in _formats:
        try:
            example = decoder.decode(line)
        except msgspec.DecodeError as exc:
            errors.append(str(exc))
            continue
        if isinstance(example, ChatExample) and not any(m.role == "assistant" for m in example.messages):
            return "each example needs at least one assistant message"
        return None
    return f"expected a chat example {{'messages': [...]}}, a DPO example or {{'prompt', 'completion'}} ({errors[0]})"


def validate_jsonl(path: Path, purpose: str) -> int:
    """Check a ``batch`` or ``fine-tune`` file; the number of lines, or a 400 listing the first bad lines."""
    check = _batch_error if purpose == "batch" else _fine_tune_error
    seen: set[str] = set()
    errors: list[str] = []
    count = 0
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            count += 1
            deep = nested_too_deep(line)
            problem = f"nested more than {MAX_JSON_DEPTH} levels deep" if deep else check(line, seen)
            if problem is not None:
                errors.append(f"line {number}: {problem}")
                if len(errors) == MAX_REPORTED_ERRORS:
                    break
    if not errors and count == 0:
        errors.append("the file has no lines")
    if not errors and purpose == "batch" and count > MAX_BATCH_LINES:
        errors.append(f"a batch file holds at most {MAX_BATCH_LINES} requests, this one has {count}")
    if errors:
        raise bad_request(
            f"Invalid file format for purpose '{purpose}': " + "; ".join(errors) + ".",
            param="file",
            code="invalid_file_format",
        )
    return count
