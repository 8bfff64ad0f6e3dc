"""The model's answer for one row of a ``completions`` or ``responses`` eval run.

The run's ``input_messages`` become the prompt: a ``template``'s messages rendered from the row's
``item`` (:mod:`fakeai.engine.templates`; content parts joined as a grader's are), or the list of
``{role, content}`` messages an ``item_reference`` (``item.input_trajectory``) names. Then the server's
own generation answers it, exactly as ``POST /v1/chat/completions`` (``completions``) or ``POST
/v1/responses`` (``responses``) would, with ``sampling_params`` as that request's fields:
``max_completion_tokens`` (default :data:`DEFAULT_MAX_TOKENS`, ``max_output_tokens`` of a response),
``temperature``, ``top_p``, ``seed`` (default 42, as OpenAI documents), ``reasoning_effort``,
``response_format`` / ``text``, ``tools``. The request is decoded by the endpoint's own schema, so a
bad parameter is that endpoint's 400, reported as the sample's ``error``. Usage is not counted in the
server's live inference metrics (as batches, it is offline work).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from fakeai.engine import render, responder, templates
from fakeai.engine.graders import render_messages
from fakeai.errors import ApiError, invalid_body
from fakeai.schemas.chat import ChatRequest
from fakeai.schemas.evals import CompletionsSource, ItemReference, ResponsesSource
from fakeai.schemas.responses import ResponseRequest
from fakeai.store import Obj

if TYPE_CHECKING:
    from fakeai.context import ServerContext

DEFAULT_MAX_TOKENS = 2048
DEFAULT_SEED = 42

_chat = msgspec.json.Decoder(ChatRequest)
_response = msgspec.json.Decoder(ResponseRequest)


@dataclass(slots=True)
class Sampled:
    #: The output item's ``sample`` (``error`` set when the row could not be answered).
    record: Obj
    #: The grader's ``sample`` namespace (None with an error).
    namespace: Obj | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


def _params(source: CompletionsSource | ResponsesSource) -> tuple[float, float, int, int]:
    params = source.sampling_params
    if params is None:
        return 1.0, 1.0, DEFAULT_MAX_TOKENS, DEFAULT_SEED
    most = params.max_completion_tokens or params.max_completions_tokens or DEFAULT_MAX_TOKENS
    return (
        1.0 if params.temperature is None else params.temperature,
        1.0 if params.top_p is None else params.top_p,
        most,
        DEFAULT_SEED if params.seed is None else params.seed,
    )


def record(
    messages: list[Obj],
    output: str | None,
    finish: str,
    model: str,
    usage: tuple[int, int, int],
    params: tuple,
) -> Obj:
    """An output item's ``sample``."""
    temperature, top_p, most, seed = params
    prompt, completion, cached = usage
    return {
        "input": messages,
        "output": [] if output is None else [{"role": "assistant", "content": output}],
        "finish_reason": finish,
        "model": model,
        "usage": {
            "total_tokens": prompt + completion,
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "cached_tokens": cached,
        },
        "error": None,
        "temperature": temperature,
        "max_completion_tokens": most,
        "top_p": top_p,
        "seed": seed,
    }


def _failed(messages: list[Obj], model: str, params: tuple, code: str, message: str) -> Sampled:
    body = record(messages, None, "", model, (0, 0, 0), params)
    body["error"] = {"code": code, "message": message}
    return Sampled(body, None)


def prompt(source: CompletionsSource | ResponsesSource, item: Obj) -> list[Obj]:
    """The row's messages; a ``ValueError`` says why there are none."""
    given = source.input_messages
    if isinstance(given, ItemReference):
        value = templates.lookup({"item": item}, given.item_reference)
        if not templates.found(value) or not isinstance(value, list):
            raise ValueError(f"'{given.item_reference[:64]}' names no list of messages in this row")
        messages = []
        for message in value:
            if not isinstance(message, dict) or not isinstance(message.get("role"), str):
                raise ValueError(f"'{given.item_reference[:64]}' holds an entry that is not a message")
            content = message.get("content")
            messages.append({"role": message["role"], "content": templates.as_text(content or "")})
        return messages
    assert given is not None  # checked when the run was created
    missing: list[str] = []
    rendered = render_messages(given.template, {"item": item}, missing)
    if missing:
        raise ValueError(f"the template variable '{{{{{missing[0][:64]}}}}}' names nothing in this row")
    return rendered


def sample(ctx: ServerContext, source: CompletionsSource | ResponsesSource, item: Obj) -> Sampled:
    """Answer one row (never raises for what the row or the parameters hold)."""
    model = source.model or ""
    params = _params(source)
    try:
        messages = prompt(source, item)
    except (ValueError, templates.TooLarge) as exc:
        return _failed([], model, params, "invalid_variable", str(exc))
    try:
        if isinstance(source, CompletionsSource):
            return _chat_sample(ctx, source, messages, params)
        return _response_sample(ctx, source, messages, params)
    except ApiError as exc:
        return _failed(messages, model, params, str(exc.code or "invalid_request"), exc.message)


def _decode(decoder: msgspec.json.Decoder[Any], body: Obj) -> Any:
    try:
        return decoder.decode(orjson.dumps(body))
    except msgspec.DecodeError as exc:
        raise invalid_body(exc) from None


def _chat_sample(
    ctx: ServerContext, source: CompletionsSource, messages: list[Obj], params: tuple
) -> Sampled:
    temperature, top_p, most, seed = params
    body: Obj = {"model": source.model, "messages": messages, "max_completion_tokens": most}
    body.update(temperature=temperature, top_p=top_p, seed=seed)
    given = source.sampling_params
    if given is not None:
        for key in ("reasoning_effort", "response_format", "tools"):
            if getattr(given, key) is not None:
                body[key] = getattr(given, key)
    answer = render.chat(ctx, _decode(_chat, body))
    done = orjson.loads(answer.payload)  # type: ignore[arg-type]
    choice = done["choices"][0]
    text = choice["message"].get("content") or ""
    usage = done.get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    counts = (answer.prompt_tokens, answer.completion_tokens, cached)
    namespace = templates.sample_namespace(
        text,
        choices=done["choices"],
        model=done["model"],
        usage=usage,
        output_tools=choice["message"].get("tool_calls") or [],
    )
    return Sampled(
        record(messages, text, choice.get("finish_reason") or "stop", done["model"], counts, params),
        namespace,
        *counts,
    )


def _response_sample(
    ctx: ServerContext, source: ResponsesSource, messages: list[Obj], params: tuple
) -> Sampled:
    temperature, top_p, most, seed = params
    body: Obj = {"model": source.model, "input": messages, "max_output_tokens": most, "store": False}
    body.update(temperature=temperature, top_p=top_p, seed=seed)
    given = source.sampling_params
    if given is not None:
        if given.text is not None:
            body["text"] = given.text
        if given.tools is not None:
            body["tools"] = given.tools
        if given.reasoning_effort is not None:
            body["reasoning"] = {"effort": given.reasoning_effort}
    done = responder.generate(ctx, _decode(_response, body), time.time())[1]
    text = "".join(
        part.get("text", "")
        for item in done["output"]
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if part.get("type") == "output_text"
    )
    usage = done["usage"]
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens") or 0
    counts = (usage["input_tokens"], usage["output_tokens"], cached)
    finish = "length" if done["status"] == "incomplete" else "stop"
    tools = [item for item in done["output"] if item.get("type") not in ("message", "reasoning")]
    namespace = templates.sample_namespace(text, model=done["model"], usage=usage, output_tools=tools)
    return Sampled(record(messages, text, finish, done["model"], counts, params), namespace, *counts)
