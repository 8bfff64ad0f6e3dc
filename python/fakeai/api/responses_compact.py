"""``POST /v1/responses/compact``: a conversation compacted into its user messages and one
``compaction`` item, as OpenAI's ``client.responses.compact`` (and ``client.beta.responses.compact``,
the same route with ``?beta=true``) returns it.

The conversation is ``previous_response_id``'s (its input and output, read from the store as
``previous_response_id`` on ``POST /v1/responses`` reads it: an unknown id is the same 404) followed
by ``input``'s items, parsed and refused as that endpoint's are (a 400 naming ``input[i]...``); one of
the two is required. ``instructions`` join the prompt of this call only. The answer
(``object: "response.compaction"``, a ``resp_`` id, integer ``created_at``) holds every user message
of the conversation verbatim, in order (ids and content as stored), then one ``compaction`` item
(``cmp_`` id) whose ``encrypted_content`` stands for everything else: assistant messages, tool calls
and their outputs, reasoning, system and developer messages, and earlier compaction items.

Compacting is a model call: the chat engine reads the whole conversation (``usage.input_tokens``,
what ``POST /v1/responses/input_tokens`` counts for the same ``input``, ``previous_response_id`` and
``instructions``) and writes a summary of at most a quarter of that (:data:`SUMMARY_SHARE`; at least
:data:`MIN_SUMMARY`, at most :data:`MAX_SUMMARY` tokens, and no more than the model's context window
has room for): ``usage.output_tokens``. A reasoning model thinks first, at ``low`` effort, with
:data:`THINKING_ROOM` more tokens for it (what it does not think goes to the summary). The call is
metered and timed as a non-streamed ``POST /v1/responses``: the answer comes when that generation
would have finished. The blob carries the summary (:mod:`fakeai.engine.compaction`), so the
compaction item sent back as input costs the summary's tokens, not the conversation's.

Bounds are the Responses API's: the body is held to ``--max-body-bytes`` (413), a conversation past
the model's context window is ``context_length_exceeded`` in the Responses API's words. Nothing is stored: a
compaction is not a response, and cannot be retrieved or continued with ``previous_response_id``
(its output is sent back as ``input``). ``prompt_cache_*``, ``service_tier``, ``safety_identifier``
and ``image`` are checked and accepted; the last three are reported back as OpenAI does.
"""

from __future__ import annotations

import time
from typing import cast

import msgspec
import orjson
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.engine import pacing, render
from fakeai.engine.compaction import sealed
from fakeai.engine.responder import as_responses_error, conversation, response_usage
from fakeai.engine.response_items import item_id
from fakeai.errors import ApiError, bad_request
from fakeai.gateway import overrides
from fakeai.gateway.overrides import Overrides
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json
from fakeai.schemas.chat import ChatRequest
from fakeai.schemas.responses import CompactRequest, ResponseRequest
from fakeai.store import Obj
from fakeai.store.objects import new_id

#: The summary's length: this share of the conversation's tokens, within these bounds.
SUMMARY_SHARE = 4
MIN_SUMMARY = 16
MAX_SUMMARY = 4096
#: A reasoning model's effort when it compacts, and the most tokens that effort thinks (the chat
#: engine's range for ``low``), added to its budget so that thinking leaves the summary its length.
COMPACTION_EFFORT = "low"
THINKING_ROOM = 128


class CompactResponse(Endpoint):
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.decoder = msgspec.json.Decoder(CompactRequest)
        self.limit = ctx.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.monotonic()
        created = time.time()
        req = await read_json(receive, self.decoder, self.limit)
        body, wait = compact(self.ctx, req, created, overrides.from_scope(scope))
        await pacing.respond(receive, send, orjson.dumps(body), wait, start, self.ctx.ticker)


def compact(
    ctx: ServerContext, req: CompactRequest, created: float, over: Overrides | None = None
) -> tuple[Obj, tuple[float, float]]:
    """``(the compacted response, the generation's (first_token_at, done_at))``; ``over`` is the
    request's ``x-fakeai-*`` overrides, honoured as chat honours them."""
    if req.input is None and req.previous_response_id is None:
        raise bad_request(
            "Nothing to compact: provide 'input', 'previous_response_id', or both.", param="input"
        )
    prompt = ResponseRequest(
        model=req.model, instructions=req.instructions, previous_response_id=req.previous_response_id
    )
    window, messages = conversation(ctx, prompt, req.input)
    tokens = len(_core.tokenize_chat(messages))
    info = ctx.resolve_model(req.model)[1]
    budget = min(MAX_SUMMARY, max(MIN_SUMMARY, tokens // SUMMARY_SHARE))
    effort = None
    if "reasoning" in info.capabilities:  # it thinks briefly first, and the summary keeps its share
        effort, budget = COMPACTION_EFFORT, budget + THINKING_ROOM
    budget = max(1, min(budget, info.context_length - tokens))  # a window near full still compacts
    creq = ChatRequest(
        model=req.model, messages=messages, max_completion_tokens=budget, reasoning_effort=effort
    )
    try:
        answer = render.chat(ctx, creq, over)
    except ApiError as e:
        raise as_responses_error(e) from None
    wait = cast("tuple[float, float]", answer.schedule)
    chat = orjson.loads(cast(bytes, answer.payload))
    summary = chat["choices"][0]["message"]["content"] or ""
    kept = [i for i in window if i.get("type", "message") == "message" and i.get("role") == "user"]
    output = [*kept, {"id": item_id("cmp"), "type": "compaction", "encrypted_content": sealed(summary)}]
    body: Obj = {
        "id": new_id("resp_"),
        "object": "response.compaction",
        "created_at": int(created),
        "output": output,
        "usage": response_usage(chat["usage"]),
    }
    if req.service_tier is not None:
        body["service_tier"] = "default" if req.service_tier == "auto" else req.service_tier
    if req.safety_identifier is not None:
        body["safety_identifier"] = req.safety_identifier
    if req.image is not None:  # text has no image context to compress unless it is required
        enabled = req.image.context_compression == "enabled"
        body["image"] = {"context_compression": "enabled" if enabled else "disabled"}
    return body, wait


def routes(ctx: ServerContext) -> list[Route]:
    # before /v1/responses/{response_id} (which would take "compact" for an id)
    return [Route("/v1/responses/compact", CompactResponse(ctx), methods=["POST"])]
