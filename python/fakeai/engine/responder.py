"""Answering a Responses API request: conversation items in, output items out, through the chat engine.

The conversation (a previous response's input and output, or the items of the stored ``conversation``
named, then this request's ``instructions`` and ``input``) becomes chat messages for
:func:`fakeai.engine.render.chat`, so the text, token counts and timing are the same engine's; and
:func:`input_tokens` counts those messages' tokens as the chat engine does, without generating. Tools
decide the output's shape, deterministically:

- ``file_search`` (unless ``tool_choice`` is ``none``): the last user text is searched in the tool's
  vector stores; the output is a ``file_search_call`` item, then a message whose text carries a
  ``file_citation`` annotation per file found.
- ``function`` and ``custom`` tools, when the conversation ends with a user message and ``tool_choice``
  is not ``none`` (``required``, a named tool, or ``auto``): one ``function_call`` of the chosen (or
  first) function, with arguments that satisfy its JSON schema, or one ``custom_tool_call`` whose
  ``input`` is in the tool's format. After the client sends the ``function_call_output`` (or
  ``custom_tool_call_output``), the model answers with text, as an agent loop expects.
- The hosted ``web_search``, ``image_generation`` and ``code_interpreter`` tools
  (:mod:`fakeai.engine.hosted_tools`): a call item each before the message (or the function call),
  when :func:`fakeai.engine.response_tools.plan` says the model uses them.

``text.format`` is handed to the chat engine as its ``response_format`` (the ``json_schema`` fields one
level down), so the message text is the same schema-valid JSON chat would write, and a bad format is
chat's 400 naming ``text.format...``. A reasoning model (catalog capability ``reasoning``) thinks as in
chat, for ``reasoning.effort``'s ranges (other models accept and ignore it); its output starts with a
``reasoning`` item, whose ``summary`` condenses the reasoning text when ``reasoning.summary`` asks:
``concise`` its first sentence, ``auto`` its first two, ``detailed`` three parts of two sentences.

A ``compaction`` input item (what ``POST /v1/responses/compact`` wrote, :mod:`fakeai.api.responses_compact`)
is read as the summary its blob carries (:mod:`fakeai.engine.compaction`), an assistant message: it
costs the summary's tokens, not those of the conversation it replaced.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import msgspec
import orjson

from fakeai import _core
from fakeai.engine import compaction, hosted_tools, render, response_tools, vector_index
from fakeai.engine.response_items import input_items, item_id
from fakeai.errors import ApiError, bad_request, not_found, shown
from fakeai.schemas.chat import ChatRequest, Message
from fakeai.schemas.common import INT32_MAX, check_metadata
from fakeai.schemas.responses import ResponseRequest
from fakeai.store import Obj, conversations
from fakeai.store.objects import new_id

if TYPE_CHECKING:
    from fakeai.context import ServerContext
    from fakeai.gateway.overrides import Overrides


class _ChatLogprobs(msgspec.Struct):
    content: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # a list, or null


class _ChatChoice(msgspec.Struct):
    message: dict[str, Any]
    finish_reason: str | None = None
    logprobs: _ChatLogprobs | None = None


class _Chat(msgspec.Struct):
    """What a response takes of the chat completion it is made from: its first choice's message,
    finish reason and logprobs (left as the core's JSON bytes), and its usage."""

    choices: list[_ChatChoice]
    usage: dict[str, Any]


_CHAT = msgspec.json.Decoder(_Chat)

#: ``reasoning.summary``: (sentences per summary part, parts) taken from the reasoning text.
SUMMARY_SHAPE = {"concise": (1, 1), "auto": (2, 1), "detailed": (2, 3)}


def _text(item: Obj) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or () if isinstance(p, dict))


def _messages(instructions: str | None, history: list[Obj]) -> list[Message]:
    messages = [Message(role="developer", content=instructions)] if instructions else []
    for item in history:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(Message(role=item["role"], content=_text(item)))
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(
                Message(
                    role="tool", content=output if isinstance(output, str) else orjson.dumps(output).decode()
                )
            )
        elif kind == "custom_tool_call_output":
            output = item.get("output")
            messages.append(
                Message(
                    role="tool", content=output if isinstance(output, str) else orjson.dumps(output).decode()
                )
            )
        elif kind == "function_call":
            messages.append(Message(role="assistant", content=f"{item.get('name')}({item.get('arguments')})"))
        elif kind == "custom_tool_call":
            messages.append(Message(role="assistant", content=f"{item.get('name')}({item.get('input')})"))
        elif kind == "compaction":  # the summary it carries, in the model's words: its tokens are counted
            summary = compaction.opened(item.get("encrypted_content"), "input")
            messages.append(Message(role="assistant", content=summary))
    return messages


def _last_user_text(history: list[Obj]) -> str:
    return next((_text(i) for i in reversed(history) if i.get("role") == "user"), "")


def respond(
    ctx: ServerContext,
    req: ResponseRequest,
    history: list[Obj],
    over: Overrides | None = None,
    live: bool = False,
) -> tuple[list[Obj], Obj, Obj | None, tuple[float, float], str | None]:
    """``(output items, usage, incomplete_details, the generation's (first_token_at, done_at), the
    model label its inference counts under)`` for a conversation; ``over`` is the request's
    ``x-fakeai-*`` overrides (timing, length, mode), which the chat engine honours as for a chat
    completion. ``live``: a client's request, whose inference (tokens, TTFT, ITL) the server's
    metrics count as a chat completion's (a batch's are not)."""
    _check_tools(req.tools)
    output: list[Obj] = []
    annotations: list[Obj] = []
    budget = INT32_MAX if req.max_tool_calls is None else req.max_tool_calls  # built-in tool calls
    file_search = next((t for t in req.tools if t.get("type") == "file_search"), None)
    if file_search is not None and req.tool_choice != "none" and budget > 0:
        budget -= 1
        query = _last_user_text(history) or "search"
        results: list[Obj] = []
        for vs_id in file_search.get("vector_store_ids") or ():
            if ctx.store.get("vector_store", vs_id) is None:
                raise bad_request(f"Vector store '{vs_id}' not found.", param="tools")
            results += vector_index.search(
                ctx.store, vs_id, [query], file_search.get("max_num_results", 10), None, 0.0
            )
        results.sort(key=lambda r: -r["score"])
        found = [
            {k: r[k] for k in ("file_id", "filename", "score", "attributes")}
            | {"text": r["content"][0]["text"]}
            for r in results
        ]
        show = "file_search_call.results" in (req.include or ())
        output.append(
            {
                "id": item_id("fs"),
                "type": "file_search_call",
                "status": "completed",
                "queries": [query],
                "results": found if show else None,
            }
        )
        seen = []
        for r in results:
            if r["file_id"] not in seen:
                seen.append(r["file_id"])
                annotations.append(
                    {"type": "file_citation", "file_id": r["file_id"], "filename": r["filename"], "index": 0}
                )
    messages = _prompt(req, history)
    info = ctx.resolve_model(req.model)[1]
    plan = response_tools.plan(req.tools, req.tool_choice, history)
    include = req.include or []
    asked = _last_user_text(history)
    calls = [
        (tool, hosted_tools.run(tool, asked, include, req.seed, ctx=ctx, history=history, tools=req.tools))
        for tool in plan.hosted[:budget]
    ]
    output += [item for _, item in calls]
    logprobs = LOGPROBS in (req.include or ()) and _samples(info.capabilities, req)
    declared, positions = _declared_tools(req.tools)
    creq = ChatRequest(
        model=req.model,
        messages=messages,
        max_completion_tokens=req.max_output_tokens,
        seed=req.seed,
        reasoning_effort=_effort(ctx, req),
        response_format=_response_format(req.text),
        # what chat refuses for OpenAI's reasoning models, Responses refuses too (same words)
        temperature=req.temperature,
        top_p=req.top_p,
        logprobs=logprobs or None,
        top_logprobs=(req.top_logprobs or 0) if logprobs else None,
        tools=declared,
        # the Responses API picks and writes its own calls (``plan`` above): chat only counts them
        tool_choice=msgspec.Raw(b'"none"') if positions else msgspec.Raw(),
    )
    try:
        # chat hides OpenAI models' reasoning
        answer = render.chat(ctx, creq, over, reveal_reasoning=True, live=live)
    except ApiError as e:
        raise as_responses_error(e, positions) from None
    # Not a stream: one JSON body, and the core's (first_token_at, done_at).
    wait = cast("tuple[float, float]", answer.schedule)
    label = answer.label
    chat = _CHAT.decode(cast(bytes, answer.payload))
    del answer  # its payload: only the logprobs' bytes are kept (copied out below)
    usage = response_usage(chat.usage)
    lat = ctx.latencies.for_request(info.id, over)
    choice = chat.choices[0]
    thought = choice.message.get("reasoning_content")
    if thought is not None:  # a reasoning model: its reasoning item comes first
        output.insert(0, _reasoning_item(req, thought))
    # the hosted calls' text is the model's output (before any function call), and they take time
    written = sum(hosted_tools.written_tokens(item) for _, item in calls)
    if calls:
        usage = {**usage, "output_tokens": usage["output_tokens"] + written}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        busy = hosted_tools.seconds([item for _, item in calls], lat.ttft > 0 or lat.itl > 0)
        wait = (wait[0] + busy, wait[1] + busy)
    function = plan.call
    if function is not None:
        key = f"{function['name']}|{req.seed}|{len(history)}"
        if function["type"] == "custom":
            arguments = response_tools.custom_input(function, f"tools[{req.tools.index(function)}]", key)
        else:
            schema = orjson.dumps(function.get("parameters") or {"type": "object", "properties": {}})
            try:
                arguments = _core.sample_json(schema, key)
            except _core.InvalidInput as e:
                at = f"tools[{req.tools.index(function)}].parameters"
                raise bad_request(
                    f"Invalid schema for function '{function['name']}': {e}.",
                    param=at,
                    code="invalid_function_parameters",
                ) from None
        # The call is what the model wrote: its name's and arguments' tokens are the output (with the
        # reasoning), and max_output_tokens cuts its arguments as it cuts a message's text.
        reasoning = usage["output_tokens_details"]["reasoning_tokens"] + written
        name_tokens, argument_tokens = _core.count_tokens(function["name"]), _core.count_tokens(arguments)
        room = None if req.max_output_tokens is None else req.max_output_tokens - reasoning - name_tokens
        capped = room is not None and argument_tokens > room
        if capped:
            arguments = _core.chunk_text(arguments, room, 0)[0] if room and room > 0 else ""
            argument_tokens = max(room or 0, 0)
        written = reasoning + name_tokens + argument_tokens
        usage = {**usage, "output_tokens": written, "total_tokens": usage["input_tokens"] + written}
        thought_tokens = usage["output_tokens_details"]["reasoning_tokens"]  # hosted calls: their time
        wait = _call_schedule(wait, chat.usage["completion_tokens"], lat.itl, thought_tokens, argument_tokens)
        custom = function["type"] == "custom"
        output.append(
            {
                "id": item_id("ctc" if custom else "fc"),
                "type": "custom_tool_call" if custom else "function_call",
                "status": "incomplete" if capped else "completed",
                "name": function["name"],
                "call_id": "call_" + secrets.token_hex(12),
                "input" if custom else "arguments": arguments,
            }
        )
        return output, usage, {"reason": "max_output_tokens"} if capped else None, wait, label
    text = choice.message.get("content") or ""
    # chat's logprobs entries are the Responses API's (token, logprob, bytes, top_logprobs): their
    # JSON as the core wrote it, spliced in (never a Python object per token and per alternative)
    raw = choice.logprobs.content if logprobs and choice.logprobs is not None else None
    body = bytes(raw) if raw is not None else b""
    del chat, raw
    content_logprobs: Any = orjson.Fragment(body) if body.startswith(b"[") and body != b"[]" else []
    for a in annotations:
        a["index"] = len(text)
    annotations += hosted_tools.cite(text, calls)
    capped = choice.finish_reason == "length"
    output.append(
        {
            "id": item_id("msg"),
            "type": "message",
            "role": "assistant",
            "status": "incomplete" if capped else "completed",
            "content": [
                {
                    "type": "output_text",
                    "text": text,
                    "annotations": annotations,
                    "logprobs": content_logprobs,
                }
            ],
        }
    )
    incomplete = {"reason": "max_output_tokens"} if capped else None
    return output, usage, incomplete, wait, label


def _call_schedule(
    text: tuple[float, float], text_tokens: int, itl: float, reasoning: int, argument_tokens: int
) -> tuple[float, float]:
    """``(first_token_at, done_at)`` of a function or custom tool call that took the text answer's
    place: the same first token (TTFT and any hosted tools' time), then as chat times a tool call,
    one ITL per step after it: the reasoning tokens, the call's header (its name) and each token of
    its arguments. The text answer's ITL spread (jitter) is kept: its decode time over its
    ``text_tokens`` steps' nominal time."""
    first, done = text
    spread = (done - first) / (itl * (text_tokens - 1)) if itl > 0 and text_tokens > 1 else 1.0
    spread = min(max(spread, 0.5), 2.0)
    return first, first + itl * spread * (reasoning + argument_tokens)


def _check_tools(tools: list[Obj]) -> None:
    response_tools.check(tools)  # custom and hosted tools, and how many
    for tool in tools:
        if tool.get("type") not in (
            "function",
            "file_search",
            *response_tools.OPTIONS,
            *response_tools.HOSTED,
        ):
            raise bad_request(f"Unsupported tool type: {shown(tool.get('type'))}.", param="tools")
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            raise bad_request("A function tool needs a 'name'.", param="tools")
        if tool.get("type") == "file_search":
            _check_file_search(tool)


def _prompt(req: ResponseRequest, history: list[Obj]) -> list[Message]:
    """The chat messages the model answers: ``instructions``, then the conversation."""
    messages = _messages(req.instructions, history)
    if not messages:  # only reasoning or file-search items: nothing for the model to answer
        raise bad_request("'input' must hold at least one message or function call output.", param="input")
    return messages


#: A ``file_search`` tool's vector stores (a bound, not OpenAI's number) and its ``max_num_results`` range.
MAX_SEARCHED_STORES = 16
MAX_SEARCH_RESULTS = 50


def _check_file_search(tool: Obj) -> None:
    """A ``file_search`` tool's ``vector_store_ids`` (1-16 ids) and ``max_num_results`` (1-50), or a 400
    naming the field."""
    ids = tool.get("vector_store_ids")
    if (
        not isinstance(ids, list)
        or not 1 <= len(ids) <= MAX_SEARCHED_STORES
        or not all(isinstance(i, str) and 0 < len(i) <= 128 for i in ids)
    ):
        raise bad_request(
            f"'vector_store_ids' must be a list of 1 to {MAX_SEARCHED_STORES} vector store ids.",
            param="tools.vector_store_ids",
        )
    most = tool.get("max_num_results", 10)
    if type(most) is not int or not 1 <= most <= MAX_SEARCH_RESULTS:
        raise bad_request(
            f"'max_num_results' must be an integer from 1 to {MAX_SEARCH_RESULTS}.",
            param="tools.max_num_results",
        )


#: The ``include`` value that asks for the message text's token logprobs.
LOGPROBS = "message.output_text.logprobs"


def _samples(capabilities: frozenset[str], req: ResponseRequest) -> bool:
    """Whether the model samples its tokens, so that it has logprobs: not OpenAI's reasoning models
    (which chat refuses ``logprobs`` for), but GPT-5.1 and later at effort ``none``."""
    if "hidden_reasoning" not in capabilities:
        return True
    effort = req.reasoning.effort if req.reasoning else None
    return "sampling_at_effort_none" in capabilities and effort in (None, "none")


def _effort(ctx: ServerContext, req: ResponseRequest) -> str | None:
    """``reasoning.effort`` as chat's ``reasoning_effort``: for reasoning models only (chat refuses it
    for the others, which the Responses API accepts)."""
    effort = req.reasoning.effort if req.reasoning else None
    if effort is None or "reasoning" not in ctx.resolve_model(req.model)[1].capabilities:
        return None
    return effort


def _response_format(text: Obj | None) -> msgspec.Raw:
    """``text.format`` as chat's ``response_format`` (a ``json_schema`` format's fields one level
    down, under ``json_schema``); empty (plain text) when absent."""
    fmt = (text or {}).get("format")
    if fmt is None:
        return msgspec.Raw()
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        fmt = {"type": "json_schema", "json_schema": {k: v for k, v in fmt.items() if k != "type"}}
    return msgspec.Raw(orjson.dumps(fmt))


def _declared_tools(tools: list[Obj]) -> tuple[msgspec.Raw, list[int]]:
    """The function and custom tools in chat's shape, for the chat engine to check and to count in
    the prompt and against the context window (their definitions are input tokens, as on OpenAI),
    with each one's index in ``tools``; an empty ``Raw`` (no tools) when there are none. Hosted tools
    are not counted."""
    positions = [i for i, tool in enumerate(tools) if tool.get("type") in ("function", "custom")]
    declared = [{"type": tools[i]["type"], tools[i]["type"]: _definition(tools[i])} for i in positions]
    return (msgspec.Raw(orjson.dumps(declared)) if declared else msgspec.Raw()), positions


def _definition(tool: Obj) -> Obj:
    """A Responses function or custom tool's definition as chat nests it (its Responses-only
    options, which chat does not know, and nulls left out; a grammar format's fields one level
    down)."""
    kept = ("name", "description", "parameters", "strict", "format")
    out = {k: v for k, v in tool.items() if k in kept and v is not None}
    fmt = out.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        out["format"] = {"type": "grammar", "grammar": {k: v for k, v in fmt.items() if k != "type"}}
    return out


#: OpenAI's Responses API's words for an input (with its tools' definitions) past the context window.
CONTEXT_EXCEEDED = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)


def as_responses_error(e: ApiError, positions: Sequence[int] = ()) -> ApiError:
    """A chat error about ``response_format`` renamed after the ``text.format`` it was read from
    (``response_format.json_schema.schema`` -> ``text.format.schema``), one about
    ``reasoning_effort`` after ``reasoning.effort``, one about chat's ``tools[i].function`` after
    the Responses tool it came from (``positions[i]``), and an input past the context window in the
    Responses API's words, and any other about chat's ``messages`` after the ``input`` they were
    read from; other errors unchanged."""
    old = e.param
    if e.code == "context_length_exceeded":
        e.param, e.message = "input", CONTEXT_EXCEEDED
        return e
    if old is not None and old.startswith("messages"):
        e.param = "input"
        return e
    found = re.match(r"tools\[(\d+)\](?:\.(?:function|custom))?", old or "")
    if old is not None and found is not None and int(found[1]) < len(positions):
        new = f"tools[{positions[int(found[1])]}]" + old[found.end() :]
        e.param, e.message = new, e.message.replace(f"'{old}'", f"'{new}'")
        return e
    if old == "reasoning_effort":
        e.param, e.message = "reasoning.effort", e.message.replace("'reasoning_effort'", "'reasoning.effort'")
        return e
    if old is None or not old.startswith("response_format"):
        return e
    new = "text.format" + old.removeprefix("response_format").replace(".json_schema", "", 1)
    e.param, e.message = new, e.message.replace(f"'{old}'", f"'{new}'")
    return e


def _summary_mode(req: ResponseRequest) -> str | None:
    """``reasoning.summary`` (or the deprecated ``reasoning.generate_summary``)."""
    r = req.reasoning
    return None if r is None else r.summary or r.generate_summary


def _reasoning_item(req: ResponseRequest, thought: str) -> Obj:
    """The ``reasoning`` output item of a reasoning model that thought ``thought``: its summary when
    ``reasoning.summary`` asks for one (:data:`SUMMARY_SHAPE`), the reasoning itself (base64, standing
    in for OpenAI's encrypted blob) when ``include`` asks for ``reasoning.encrypted_content``."""
    mode = _summary_mode(req)
    summary: list[Obj] = []
    if mode and thought:
        per, parts = SUMMARY_SHAPE[mode]
        sentences = [s.rstrip(".") + "." for s in thought.split(". ", per * parts)[: per * parts]]
        summary = [
            {"type": "summary_text", "text": " ".join(sentences[i : i + per])}
            for i in range(0, len(sentences), per)
        ]
    item: Obj = {"id": item_id("rs"), "type": "reasoning", "summary": summary}
    if "reasoning.encrypted_content" in (req.include or ()):
        item["encrypted_content"] = base64.b64encode(thought.encode()).decode()
    return item


def response_usage(chat: Obj) -> Obj:
    """A chat completion's ``usage`` as the Responses API writes it (every field the SDK types require)."""
    prompt, completion = chat["prompt_tokens"], chat["completion_tokens"]
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": chat["prompt_tokens_details"]["cached_tokens"],
            "cache_write_tokens": 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": chat["completion_tokens_details"]["reasoning_tokens"]},
        "total_tokens": prompt + completion,
    }


def response_object(req: ResponseRequest, id: str, created: float) -> Obj:
    """The response before generation (``status`` in_progress). Timestamps are integer seconds, as
    OpenAI sends them (typed clients declare them as integers)."""
    return {
        "id": id,
        "object": "response",
        "created_at": int(created),
        "status": "in_progress",
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": req.max_tool_calls,
        "model": req.model,
        "output": [],
        "parallel_tool_calls": req.parallel_tool_calls,
        "previous_response_id": req.previous_response_id,
        "reasoning": {
            "effort": req.reasoning.effort if req.reasoning else None,
            "summary": _summary_mode(req),
        },
        "store": req.store,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "text": req.text or {"format": {"type": "text"}},
        "tool_choice": req.tool_choice,
        "tools": req.tools,
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "top_logprobs": req.top_logprobs,
        "truncation": req.truncation or "disabled",
        "usage": None,
        "user": req.user,
        "metadata": req.metadata or {},
    }


def _history(ctx: ServerContext, req: ResponseRequest) -> tuple[list[Obj], str | None]:
    """``(the items before this request's input, the id of the conversation it continues)``: a
    previous response's input and output, or a stored conversation's items (the two exclude each
    other, as in OpenAI's API); an unknown id is a 404 naming the parameter."""
    ref = req.conversation
    conversation = ref if isinstance(ref, str) or ref is None else ref.id
    if conversation is not None and req.previous_response_id is not None:
        raise bad_request(
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            code="mutually_exclusive_parameters",
        )
    if req.previous_response_id is not None:
        previous = ctx.store.get("response.input", req.previous_response_id)
        if previous is None:
            raise not_found("response", req.previous_response_id, param="previous_response_id")
        prior = ctx.store.get("response", req.previous_response_id) or {"output": []}
        return previous["context"] + previous["items"] + prior["output"], None
    if conversation is not None:
        if ctx.store.get(conversations.KIND, conversation) is None:
            raise not_found("conversation", conversation, param="conversation")
        return conversations.items(ctx.store, conversation), conversation
    return [], None


def check_appendable(held: list[Obj], items: list[Obj], param: str, answer: int = 0) -> None:
    """A 400 for new items a conversation holding ``held`` cannot take: an id it holds (or one given
    twice), or more than :data:`~fakeai.store.conversations.MAX_ITEMS` in all with ``answer`` more
    (a response's output). ``param`` names the request's list of them."""
    seen = {item["id"] for item in held}
    for i, item in enumerate(items):
        if item["id"] in seen:
            raise duplicate_item(item["id"], f"{param}[{i}].id")
        seen.add(item["id"])
    if len(held) + len(items) + answer > conversations.MAX_ITEMS:
        raise too_many_items(len(items), param)


def duplicate_item(id: str, param: str) -> ApiError:
    return bad_request(f"Duplicate item found with id '{id}'.", param=param, code="duplicate_item")


def too_many_items(adding: int, param: str) -> ApiError:
    most, mib = conversations.MAX_ITEMS, conversations.MAX_BYTES >> 20
    return bad_request(
        f"A conversation holds at most {most} items of {mib} MiB in all: {adding} more do not fit.",
        param=param,
        code="conversation_full",
    )


def input_tokens(ctx: ServerContext, req: ResponseRequest) -> int:
    """The ``usage.input_tokens`` :func:`generate` would report for ``req`` (what the chat engine counts
    of the same messages), refusing what it refuses before generating; nothing is generated, stored
    or metered."""
    _check_tools(req.tools)
    history, messages = conversation(ctx, req, req.input)
    response_tools.plan(req.tools, req.tool_choice, history)  # a tool_choice naming no tool
    declared = bytes(_declared_tools(req.tools)[0])  # the tools' definitions, as chat counts them
    return len(_core.tokenize_chat(messages)) + (_core.count_tokens(declared.decode()) if declared else 0)


def conversation(
    ctx: ServerContext, req: ResponseRequest, input: str | list[dict[str, Any]] | None
) -> tuple[list[Obj], list[Message]]:
    """``(the items req answers: the prior ones (a previous response's or a stored conversation's) and
    then ``input``'s (none when None), the chat messages of them)``; what :func:`input_tokens` counts
    and :mod:`fakeai.engine.compaction` compacts."""
    context, _ = _history(ctx, req)
    history = context + ([] if input is None else input_items(input))
    return history, _prompt(req, history)


def generate(
    ctx: ServerContext,
    req: ResponseRequest,
    created: float,
    over: Overrides | None = None,
    prior: list[Obj] | None = None,
    live: bool = False,
) -> tuple[Obj, Obj, list[Obj], list[Obj], tuple[float, float], str | None]:
    """``(started, done, context, input items, (first_token_at, done_at), model label)`` for a decoded
    request (``live``, the label: as :func:`respond`).

    Shared by the ``/v1/responses`` endpoint and by batches (which answer through the same engine).
    With ``conversation``, ``started`` and ``done`` name it; appending the input and output items to
    it is the caller's (the endpoint's: a batch stores nothing). ``prior``: the items before this
    request's input when the caller holds them (a Responses WebSocket's connection-local cache of
    ``previous_response_id``'s conversation, :mod:`fakeai.api.responses_socket`), read in place of
    the store's.
    """
    check_metadata(req.metadata)
    context, conversation = _history(ctx, req) if prior is None else (prior, None)
    items = input_items(req.input)
    if conversation is not None:  # before generating: what appending would refuse
        check_appendable(context, items, "input", answer=1)
    output, usage, incomplete, wait, label = respond(ctx, req, context + items, over, live)
    started = response_object(req, new_id("resp_"), created)
    if conversation is not None:
        started["conversation"] = {"id": conversation}
    done = {
        **started,
        "status": "incomplete" if incomplete else "completed",
        # Only a completed response has a completion time (OpenAI leaves it null otherwise).
        "completed_at": None if incomplete else int(time.time()),
        "incomplete_details": incomplete,
        "output": output,
        "usage": usage,
    }
    return started, done, context, items, wait, label
