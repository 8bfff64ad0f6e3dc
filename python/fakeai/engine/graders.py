"""Graders, shared by eval runs (:mod:`fakeai.engine.evals`) and ``/v1/fine_tuning/alpha/graders``.

Each grader renders its templates (:mod:`fakeai.engine.templates`) from the ``item`` and ``sample``
namespaces, then scores:

- ``string_check``: computed. ``eq`` / ``ne``: the rendered input equals (differs from) the
  reference; ``like``: the input contains the reference; ``ilike``: the same, ignoring case (OpenAI's
  graders guide: these are containment checks, not SQL patterns). Score 1 or 0.
- ``text_similarity``: computed (:mod:`fakeai.engine.similarity` says which metrics are exact).
- ``score_model`` / ``label_model``: no model is asked. The score (rounded to 2 decimals, within
  ``range``, default ``[0, 1]``) or the label (one of ``labels``) is a deterministic function of a
  SHA-256 of the model name and the rendered messages: the same input always grades the same. The
  tokens of the rendered input and of the answer (``{"result": score}`` / ``{"label": label}``) are
  counted as that model's usage. A label grader scores 1 when its label is in ``passing_labels``.
- ``python``: the ``source`` is parsed (a syntax error, or no top-level ``def grade``, is a 400) but
  never run: the score is a deterministic value from 0 to 1 derived from a SHA-256 of the source
  and of both namespaces.
- ``multi``: each sub-grader's score, named by its key (or its ``name`` when ``graders`` is one
  grader, as the SDK's type has it), goes into ``calculate_output`` (:mod:`fakeai.engine.formula`).

In an eval a criterion passes when: ``string_check`` and ``label_model`` score 1; ``text_similarity``
scores at least its ``pass_threshold``; ``python`` and ``score_model`` score at least their
``pass_threshold``, else (none given) at least 0.5 and the middle of ``range``.

A template variable that names nothing, a text too long to compare, or a formula without a value is
a :class:`GraderError` whose ``kind`` is the ``errors`` flag ``/v1/fine_tuning/alpha/graders/run``
sets; an eval run counts the row as errored.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from fakeai import _core
from fakeai.engine import formula, templates
from fakeai.engine.similarity import TooLong, similarity
from fakeai.errors import bad_request, invalid_body
from fakeai.schemas.evals import (
    Grader,
    LabelModel,
    Message,
    Multi,
    Python,
    ScoreModel,
    SimpleGrader,
    StringCheck,
    TextSimilarity,
)
from fakeai.store import Obj

#: Content part types of a model grader's (or a run template's) message, and their text fields.
PART_TEXT = {"input_text": "text", "output_text": "text", "input_image": "image_url"}


class GraderError(Exception):
    """A grader that could not score this row; ``kind`` is the alpha run's ``errors`` flag."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(slots=True)
class Grade:
    score: float
    #: Sub-grader scores by name (a multi grader's).
    sub_rewards: dict[str, float] = field(default_factory=dict)
    #: ``model -> [prompt_tokens, completion_tokens, invocations]`` of model graders.
    usage: dict[str, list[int]] = field(default_factory=dict)
    #: What a model grader answered (an eval result's ``sample``).
    sample: Obj | None = None


# -- checks of what decoding cannot check


def _convert(value: Any, kind: Any, param: str) -> Any:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if " - at `$" in text:
            text = text.replace(" - at `$", f" - at `$.{param}", 1)
        else:
            text += f" - at `$.{param}`"
        raise invalid_body(msgspec.ValidationError(text)) from None


def sub_graders(grader: Multi, param: str) -> dict[str, SimpleGrader]:
    """A multi grader's sub-graders by name (the names ``calculate_output`` uses)."""
    raw = grader.graders
    if isinstance(raw.get("type"), str):  # one grader, as the SDK's type declares it
        one = _convert(raw, SimpleGrader, f"{param}.graders")
        return {one.name: one}
    if not raw:
        raise bad_request("'graders' must name at least one grader.", param=f"{param}.graders")
    return {key: _convert(value, SimpleGrader, f"{param}.graders.{key}") for key, value in raw.items()}


def check_content(content: Any, param: str) -> None:
    """A message's content: a string, or content parts (one or a list) OpenAI's graders take."""
    for at, part in enumerate(content if isinstance(content, list) else [content]):
        where = f"{param}[{at}]" if isinstance(content, list) else param
        if isinstance(part, str):
            _check_template(part, where)
            continue
        kind = part.get("type")
        if kind == "input_audio":
            audio = part.get("input_audio")
            if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
                raise bad_request(
                    "An 'input_audio' part needs 'input_audio.data'.", param=f"{where}.input_audio"
                )
            _check_template(audio["data"], f"{where}.input_audio.data")
        elif kind in PART_TEXT:
            text = part.get(PART_TEXT[kind])
            if not isinstance(text, str):
                raise bad_request(
                    f"A '{kind}' part needs a string '{PART_TEXT[kind]}'.", param=f"{where}.{PART_TEXT[kind]}"
                )
            _check_template(text, f"{where}.{PART_TEXT[kind]}")
        else:
            raise bad_request(
                f"Invalid content part type {kind!r:.70}: expected 'input_text', 'output_text', "
                "'input_image' or 'input_audio'.",
                param=f"{where}.type",
            )


def _check_template(text: str, param: str) -> None:
    for path in templates.variables(text):
        problem = templates.check_path(path)
        if problem:
            raise bad_request(f"Invalid template: {problem}.", param=param, code="invalid_template")


def check_messages(messages: list[Message], param: str) -> None:
    for at, message in enumerate(messages):
        check_content(message.content, f"{param}[{at}].content")


def check(grader: Grader, param: str) -> None:
    """A 400 for what makes ``grader`` unusable beyond its shape."""
    if isinstance(grader, (StringCheck, TextSimilarity)):
        _check_template(grader.input, f"{param}.input")
        _check_template(grader.reference, f"{param}.reference")
    elif isinstance(grader, Python):
        try:
            tree = ast.parse(grader.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise bad_request(
                f"The python grader's source does not parse: {exc}.", param=f"{param}.source"
            ) from None
        if not any(
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "grade"
            for node in tree.body
        ):
            raise bad_request(
                "The python grader's source must define a function 'grade(sample, item)'.",
                param=f"{param}.source",
            )
    elif isinstance(grader, ScoreModel):
        check_messages(grader.input, f"{param}.input")
        if grader.range is not None and not grader.range[0] < grader.range[1]:
            raise bad_request("'range' must be [min, max] with min below max.", param=f"{param}.range")
    elif isinstance(grader, LabelModel):
        check_messages(grader.input, f"{param}.input")
        outside = [label for label in grader.passing_labels if label not in grader.labels]
        if outside:
            raise bad_request(
                f"'passing_labels' must be a subset of 'labels': {outside[0]!r:.70} is not a label.",
                param=f"{param}.passing_labels",
            )
    elif isinstance(grader, Multi):
        subs = sub_graders(grader, param)
        for name, sub in subs.items():
            check(sub, f"{param}.graders.{name}")
        try:
            unknown = formula.names(formula.parse(grader.calculate_output)) - subs.keys()
        except formula.FormulaError as exc:
            raise bad_request(
                f"Invalid 'calculate_output': {exc}.", param=f"{param}.calculate_output"
            ) from None
        if unknown:
            raise bad_request(
                f"Invalid 'calculate_output': it names {sorted(unknown)[0]!r:.70}, which is none of "
                f"this grader's graders ({', '.join(sorted(subs))}).",
                param=f"{param}.calculate_output",
            )


def present(grader: Grader) -> Obj:
    """A grader as OpenAI echoes it: model graders' messages with ``type: message`` and a string
    content as an ``input_text`` part."""
    body: Obj = msgspec.to_builtins(grader)
    if isinstance(grader, (ScoreModel, LabelModel)):
        body["input"] = [present_message(m) for m in grader.input]
    return body


def present_message(message: Message) -> Obj:
    content = message.content
    if isinstance(content, str):
        content = {"type": "input_text", "text": content}
    return {"type": "message", "role": message.role, "content": content}


# -- grading


def render_messages(messages: list[Message], namespace: Obj, missing: list[str]) -> list[Obj]:
    """``[{"role", "content"}]``: each message's content rendered to one text (parts joined by
    newlines; an image by its url, audio by its data)."""
    rendered = []
    for message in messages:
        parts = message.content if isinstance(message.content, list) else [message.content]
        texts = []
        for part in parts:
            if isinstance(part, str):
                text = part
            elif part.get("type") == "input_audio":
                text = part["input_audio"]["data"]
            else:
                text = part[PART_TEXT[part["type"]]]
            texts.append(templates.render(text, namespace, missing))
        rendered.append({"role": message.role, "content": "\n".join(texts)})
    return rendered


def _unit(*pieces: bytes) -> float:
    """A deterministic number in [0, 1) from ``pieces``."""
    digest = hashlib.sha256(b"\x00".join(pieces)).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _render(text: str, namespace: Obj, missing: list[str]) -> str:
    try:
        return templates.render(text, namespace, missing)
    except templates.TooLarge as exc:
        raise GraderError("truncated_observation_error", str(exc)) from None


def _no_missing(missing: list[str]) -> None:
    if missing:
        raise GraderError(
            "invalid_variable_error", f"The template variable '{{{{{missing[0][:64]}}}}}' names nothing."
        )


def _model_grade(grader: ScoreModel | LabelModel, namespace: Obj) -> Grade:
    missing: list[str] = []
    try:
        messages = render_messages(grader.input, namespace, missing)
    except templates.TooLarge as exc:
        raise GraderError("truncated_observation_error", str(exc)) from None
    _no_missing(missing)
    u = _unit(grader.model.encode(), orjson.dumps(messages))
    if isinstance(grader, ScoreModel):
        low, high = grader.range or (0.0, 1.0)
        score = min(high, max(low, round(low + (high - low) * u, 2)))
        answer = orjson.dumps({"result": score}).decode()
    else:
        label = grader.labels[int(u * len(grader.labels))]
        score = 1.0 if label in grader.passing_labels else 0.0
        answer = orjson.dumps({"label": label}).decode()
    prompt = sum(_core.count_tokens(m["content"]) + 3 for m in messages) + 3
    completion = _core.count_tokens(answer)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    sample = {"model": grader.model, "output": [{"role": "assistant", "content": answer}], "usage": usage}
    return Grade(score, usage={grader.model: [prompt, completion, 1]}, sample=sample)


def grade(grader: Grader, namespace: Obj) -> Grade:
    """Score one row (``namespace``: ``{"item": ..., "sample": ...}``) with a checked ``grader``."""
    if isinstance(grader, (StringCheck, TextSimilarity)):
        missing: list[str] = []
        given, reference = (
            _render(grader.input, namespace, missing),
            _render(grader.reference, namespace, missing),
        )
        _no_missing(missing)
        if isinstance(grader, TextSimilarity):
            try:
                return Grade(similarity(grader.evaluation_metric, given, reference))
            except TooLong as exc:
                raise GraderError("truncated_observation_error", str(exc)) from None
        op = grader.operation
        if op in ("eq", "ne"):
            return Grade(1.0 if (given == reference) == (op == "eq") else 0.0)
        if op == "ilike":
            given, reference = given.lower(), reference.lower()
        return Grade(1.0 if reference in given else 0.0)
    if isinstance(grader, Python):
        return Grade(
            round(_unit(grader.source.encode(), orjson.dumps(namespace, option=orjson.OPT_SORT_KEYS)), 4)
        )
    if isinstance(grader, (ScoreModel, LabelModel)):
        return _model_grade(grader, namespace)
    subs = sub_graders(grader, "grader")
    total = Grade(0.0)
    for name, sub in subs.items():
        part = grade(sub, namespace)
        total.sub_rewards[name] = part.score
        for model, (prompt, completion, calls) in part.usage.items():
            held = total.usage.setdefault(model, [0, 0, 0])
            held[0] += prompt
            held[1] += completion
            held[2] += calls
    try:
        total.score = formula.evaluate(formula.parse(grader.calculate_output), total.sub_rewards)
    except formula.FormulaError as exc:
        raise GraderError("formula_parse_error", str(exc)) from None
    return total


def passed(grader: Grader, score: float) -> bool:
    """Whether ``score`` passes ``grader`` as an eval's testing criterion."""
    if isinstance(grader, (StringCheck, LabelModel)):
        return score >= 1.0
    threshold = getattr(grader, "pass_threshold", None)
    if threshold is None:
        low, high = (grader.range or (0.0, 1.0)) if isinstance(grader, ScoreModel) else (0.0, 1.0)
        threshold = (low + high) / 2
    return score >= threshold
