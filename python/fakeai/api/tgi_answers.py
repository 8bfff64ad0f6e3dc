"""TGI's answers, made from a rendered legacy completion (:mod:`fakeai.api.tgi` renders one with
logprobs): the ``/generate`` body and the ``/generate_stream`` events, in TGI's field order.

A stream keeps the completion's steps and their schedule: each step's token chunks become one
``data:{...}`` event per token (``index`` from 1, ``token``, ``top_tokens`` when asked,
``generated_text`` and ``details`` null), and the last token's event carries ``generated_text`` (the
whole text) and, when asked, ``details`` (``finish_reason``, ``generated_tokens``, ``seed``,
``input_length``). So a TGI stream is timed exactly as the completion is, at the price of Python
work per token (reading each chunk and writing its event, a few microseconds).

Token ids are fakeai's tokenizer's (``_core.tokenize`` of the token's text, as ``/tokenize`` gives
them), logprobs the completion's; no token is ``special``. ``finish_reason``: the completion's
``length`` stays ``length``; its ``stop`` is ``stop_sequence`` when the request gave stop sequences,
else ``eos_token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from fakeai import _core
from fakeai.engine.render import Answer

#: One generated token as the completion's logprobs give it: text, logprob, most likely alternatives.
Generated = tuple[str, float, dict[str, float]]


@dataclass(frozen=True, slots=True)
class Asked:
    """What a TGI request asks for beside the generated text."""

    #: ``details`` (a stream's last event, or the body).
    details: bool
    #: Put before ``generated_text``: the prompt with ``return_full_text``, else "".
    prefix: str
    #: ``top_n_tokens``: alternatives listed per token (0: no ``top_tokens``).
    top_n: int
    #: The seed reported in the details (a sampled request's), or None.
    seed: int | None
    #: The request gave stop sequences (a ``stop`` finish is then ``stop_sequence``).
    stops: bool
    #: ``decoder_input_details``: the prompt's tokens, in the body's details.
    prefill: list[dict[str, Any]]
    #: The compat route's body is a list of one answer.
    listed: bool = False


def body(answer: Answer, asked: Asked) -> bytes:
    """``/generate``'s body: ``generated_text``, and ``details`` when asked."""
    payload = answer.payload
    assert isinstance(payload, bytes), "a whole answer's body"
    choice = orjson.loads(payload)["choices"][0]
    out: dict[str, Any] = {"generated_text": asked.prefix + choice["text"]}
    if asked.details:
        tokens = _generated(choice["logprobs"])
        details: dict[str, Any] = {
            "finish_reason": _finish(choice["finish_reason"], asked),
            "generated_tokens": answer.completion_tokens,
            "seed": asked.seed,
            "prefill": asked.prefill,
            "tokens": [_token(text, logprob) for text, logprob, _ in tokens],
        }
        if asked.top_n:
            details["top_tokens"] = [_top(top) for _, _, top in tokens]
        out["details"] = details
    return orjson.dumps([out] if asked.listed else out)


def events(answer: Answer, asked: Asked) -> list[bytes]:
    """``/generate_stream``'s events, grouped as the completion's steps are (one group per step)."""
    steps = answer.payload
    assert not isinstance(steps, bytes), "a stream's steps"
    groups: list[list[Generated]] = []
    finish = "length"
    for k in range(len(steps)):
        group: list[Generated] = []
        for chunk in steps[k].split(b"\n\n"):
            if not chunk.startswith(b"data: {"):
                continue  # the blank after the last chunk, and [DONE]
            for choice in orjson.loads(chunk[6:])["choices"]:
                finish = choice["finish_reason"] or finish
                if choice["logprobs"] is not None:
                    group.extend(_generated(choice["logprobs"]))
        groups.append(group)
    total = sum(len(group) for group in groups)
    if total == 0:  # nothing generated: TGI's stream still ends on a token event
        groups[-1].append(("", 0.0, {}))
        total = 1
    texts: list[str] = []
    out = []
    for group in groups:
        sent = []
        for text, logprob, top in group:
            texts.append(text)
            event: dict[str, Any] = {"index": len(texts), "token": _token(text, logprob)}
            if asked.top_n:
                event["top_tokens"] = _top(top)
            last = len(texts) == total
            event["generated_text"] = asked.prefix + "".join(texts) if last else None
            event["details"] = None
            if last and asked.details:
                event["details"] = {
                    "finish_reason": _finish(finish, asked),
                    "generated_tokens": answer.completion_tokens,
                    "seed": asked.seed,
                    "input_length": answer.prompt_tokens,
                }
            sent.append(b"data:" + orjson.dumps(event) + b"\n\n")
        out.append(b"".join(sent))
    return out


def _generated(logprobs: dict[str, Any]) -> list[Generated]:
    """The tokens of a completion's (or a chunk's) ``logprobs``."""
    return list(zip(logprobs["tokens"], logprobs["token_logprobs"], logprobs["top_logprobs"], strict=True))


def _token(text: str, logprob: float) -> dict[str, Any]:
    ids = _core.tokenize(text)
    return {"id": ids[0] if ids else 0, "text": text, "logprob": logprob, "special": False}


def _top(alternatives: dict[str, float]) -> list[dict[str, Any]]:
    """A position's ``top_tokens``, most likely first (the completion's order)."""
    return [_token(text, logprob) for text, logprob in alternatives.items()]


def _finish(reason: str, asked: Asked) -> str:
    if reason == "stop":
        return "stop_sequence" if asked.stops else "eos_token"
    return "length"
