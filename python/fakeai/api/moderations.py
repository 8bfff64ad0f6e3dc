"""``POST /v1/moderations``: OpenAI's thirteen categories scored by keyword lexicons in the core.

A string or each string of a list is one result. A list of ``text``/``image_url`` parts (omni models)
is one result whose scores are the highest of its parts; images score low (fakeai does not look at
them) and only the six categories OpenAI scores for images list ``image`` in
``category_applied_input_types``. A category is flagged from ``--moderation-threshold`` up.
"""

from __future__ import annotations

import secrets
from typing import TypeGuard

import msgspec
import orjson
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.moderations import ImageInput, ModerationRequest, TextInput

CATEGORIES: tuple[str, ...] = tuple(_core.MODERATION_CATEGORIES)
IMAGE_CATEGORIES = frozenset(_core.MODERATION_IMAGE_CATEGORIES)
#: The dated snapshot each alias answers with, as OpenAI reports it.
SNAPSHOTS = {
    "omni-moderation-latest": "omni-moderation-2024-09-26",
    "text-moderation-latest": "text-moderation-007",
}


def _all_text(items: list[str | TextInput | ImageInput]) -> TypeGuard[list[str]]:
    """Whether every item of a list ``input`` is a string."""
    return all(isinstance(t, str) for t in items)


def _all_parts(items: list[str | TextInput | ImageInput]) -> TypeGuard[list[TextInput | ImageInput]]:
    """Whether no item of a list ``input`` is a string (each is a text or image part)."""
    return not any(isinstance(t, str) for t in items)


def _result(scores: list[float], kinds: set[str], threshold: float) -> dict[str, object]:
    flags = [s >= threshold for s in scores]
    applied = {
        c: [k for k in ("text", "image") if k in kinds and (k == "text" or c in IMAGE_CATEGORIES)]
        for c in CATEGORIES
    }
    return {
        "flagged": any(flags),
        "categories": dict(zip(CATEGORIES, flags, strict=True)),
        "category_scores": dict(zip(CATEGORIES, scores, strict=True)),
        "category_applied_input_types": applied,
    }


class Moderations(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.decoder = msgspec.json.Decoder(ModerationRequest)
        self.limit = ctx.settings.max_body_bytes
        self.threshold = ctx.settings.moderation_threshold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if isinstance(req.input, str):
            results = [_result(_core.moderation_scores(req.input), {"text"}, self.threshold)]
        elif _all_text(req.input):
            results = [_result(_core.moderation_scores(t), {"text"}, self.threshold) for t in req.input]
        elif _all_parts(req.input):
            results = [self._multimodal(req.model, req.input)]
        else:
            raise bad_request(
                "'input' must be a list of strings or a list of parts, not both.",
                param="input",
                code="invalid_value",
            )
        body = {
            "id": "modr-" + secrets.token_hex(12),
            "model": SNAPSHOTS.get(req.model, req.model),
            "results": results,
        }
        await send_bytes(send, orjson.dumps(body))

    def _multimodal(self, model: str, parts: list[TextInput | ImageInput]) -> dict[str, object]:
        if model.startswith("text-moderation"):
            raise bad_request(
                f"{model} only accepts text input; use omni-moderation-latest for images.",
                param="input",
                code="invalid_value",
            )
        scores = [0.0] * len(CATEGORIES)
        kinds = set()
        for part in parts:
            if isinstance(part, TextInput):
                kinds.add("text")
                part_scores = _core.moderation_scores(part.text)
            else:
                kinds.add("image")
                part_scores = _core.image_moderation_scores(part.image_url.url)
            scores = [max(a, b) for a, b in zip(scores, part_scores, strict=True)]
        return _result(scores, kinds, self.threshold)


def routes(ctx: ServerContext) -> list[Route]:
    return [Route("/v1/moderations", Moderations(ctx), methods=["POST"])]
