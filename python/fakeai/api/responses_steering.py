"""Steering a Responses WebSocket's response (``response.steer``, :mod:`fakeai.api.responses_socket`).

A ``response.steer`` names a response in flight on the connection (``previous_response_id``) and
``input`` to queue for its continuation: a string, or a non-empty list of user messages, each with
only ``type`` (``message``), ``role`` (``user``) and ``content`` (a string, or ``input_text``,
``input_image`` and ``input_file`` parts). As the SDK documents it:

- accepted input gets ``response.steer.accepted`` (a ``steer`` id): the server holds it, nothing is
  applied yet;
- the steered response ends at the next safe output boundary: before its next text delta it sends
  the done events of what it wrote and ``response.incomplete`` with ``incomplete_details.reason``
  ``steered`` (text, annotations, logprobs and ``output_tokens`` cut to what was sent; a stored
  response is updated so). One whose text was all sent, or that writes none, completes as usual;
- then an automatic successor: a new response with the steered one's settings, its
  ``previous_response_id``, and the queued input (in submission order) as its ``input``; its
  ``response.created`` is the commit point;
- a response that ends with a function or custom tool call (client-owned: the client runs it) keeps
  the input queued instead, and ``response.steer.pending`` follows ``response.completed``
  (``waiting_for_required_input``, a ``required_input`` stub per call); the client's next
  ``response.create`` on the same lane with that ``previous_response_id`` gets the queued input
  prepended to its own, keeping its own settings;
- a steer that cannot be taken is ``response.steer.failed``: ``invalid_input`` (the event or input
  is not of that shape), ``response_not_found`` (no such response on this connection),
  ``response_already_completed`` / ``response_not_active`` (it ended, completed or not),
  ``steering_not_supported`` (a response bound to a ``conversation`` or with ``context_management``),
  ``too_many_pending_steers`` (past :data:`MAX_STEERS` for the response or :data:`MAX_HELD_BYTES` held
  on the connection), ``successor_creation_failed`` (the continuation was refused: its 4xx's words).
  A steer without a string ``previous_response_id`` is an ``error`` event instead (the failed event
  has to name it).

What is simulated: the model does not read the steering while it writes; the cut is where the text
stops, and the successor is an ordinary generation over the conversation with the input added.
Steer events carry the connection's own ``sequence_number`` count (each response's events keep theirs).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import Meta

from fakeai import _core
from fakeai.api.responses import events
from fakeai.errors import invalid_body, shown
from fakeai.store import Obj
from fakeai.store.objects import new_id

#: Accepted steers one response holds at once, and the bytes of the steers a connection holds.
MAX_STEERS = 16
MAX_HELD_BYTES = 16 * 1024 * 1024
#: Ended responses remembered per connection, for the failed steer's code.
KEEP_ENDED = 1024
#: The fields a ``response.steer`` event may have.
FIELDS = frozenset(("type", "previous_response_id", "input"))
PARTS = ("input_text", "input_image", "input_file")
#: Output items the client owns (it runs the tool): a steered response ending with one waits for it.
CLIENT_CALLS = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}
DELTA = b'{"type":"response.output_text.delta"'
TEXT_DONE = b'{"type":"response.output_text.done"'


class _Named(msgspec.Struct):
    previous_response_id: Annotated[str, Meta(min_length=1, max_length=256)]


_NAMED = msgspec.json.Decoder(_Named)


class Steer(msgspec.Struct):
    id: str
    previous_response_id: str
    input: Any
    size: int

    def items(self) -> list[dict[str, Any]]:
        """The input as items of a ``response.create``'s ``input``."""
        if isinstance(self.input, str):
            return [{"type": "message", "role": "user", "content": self.input}]
        return list(self.input)


class Target:
    """A response in flight that steering can reach."""

    def __init__(self, id: str, lane: str | None, steerable: bool) -> None:
        self.id, self.lane, self.steerable = id, lane, steerable
        self.steers: list[Steer] = []


def bad_input(value: object) -> str | None:
    """Why ``value`` is not steering input, or None."""
    if isinstance(value, str):
        return None
    if not isinstance(value, list) or not value:
        return "'input' must be a string or a non-empty array of user messages."
    for i, item in enumerate(value):
        at = f"input[{i}]"
        if not isinstance(item, dict):
            return f"'{at}' must be a message object."
        extra = sorted(set(item) - {"type", "role", "content"})
        if extra:
            return (
                f"A steering message may contain only 'type', 'role' and 'content': '{at}.{extra[0]}' is not."
            )
        if item.get("type", "message") != "message":
            return f"Steering accepts only messages: '{at}.type' is {shown(item.get('type'))}."
        if item.get("role") != "user":
            return f"Steering accepts only messages with the 'user' role: '{at}.role' is {shown(item.get('role'))}."
        content = item.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"'{at}.content' must be a string or an array of content parts."
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in PARTS:
                return f"'{at}.content[{j}].type' must be one of {', '.join(PARTS)}."
            if part["type"] == "input_text" and not isinstance(part.get("text"), str):
                return f"'{at}.content[{j}].text' must be a string."
    return None


class Steering:
    """A connection's steering: the responses in flight, the input held for continuations, and the
    events that say what became of each steer."""

    def __init__(self) -> None:
        self.active: dict[str, Target] = {}
        #: Input held for a response that waits for its client-owned tool output: (its lane, steers).
        self.pending: dict[str, tuple[str | None, list[Steer]]] = {}
        self.ended: OrderedDict[str, str] = OrderedDict()
        self.held = 0
        self.sequence = 0

    def event(self, kind: str, lane: str | None, **fields: Any) -> Obj:
        self.sequence += 1
        event = {"type": kind, "sequence_number": self.sequence - 1, **fields}
        if lane is not None:
            event["stream_id"] = lane
        return event

    def failed(self, steer: Steer, code: str, message: str, lane: str | None, accepted: bool = True) -> Obj:
        shown_steer = {"input": steer.input, "previous_response_id": steer.previous_response_id}
        if accepted:  # a failure before acceptance has no id yet
            shown_steer["id"] = steer.id
            self.held -= steer.size
        error = {"type": "invalid_request_error", "code": code, "message": message}
        return self.event("response.steer.failed", lane, error=error, steer=shown_steer)

    def submit(self, raw: bytes, event: dict[str, Any]) -> Obj:
        """The answer to a ``response.steer``: accepted, or failed; an :class:`ApiError` when it names
        no response (it is an ``error`` event)."""
        try:
            target_id = _NAMED.decode(raw).previous_response_id
        except msgspec.DecodeError as exc:
            raise invalid_body(exc) from None
        steer = Steer(new_id("steer_"), target_id, event.get("input"), len(raw))
        target = self.active.get(target_id)
        lane = target.lane if target is not None else None
        extra = sorted(set(event) - FIELDS)
        wrong = (
            f"'response.steer' accepts only 'type', 'previous_response_id' and 'input': '{extra[0]}' is not."
            if extra
            else bad_input(steer.input)
        )
        if wrong is not None:
            return self.failed(steer, "invalid_input", wrong, lane, accepted=False)
        if target is None:
            status = self.ended.get(target_id)
            if status is None:
                code, why = "response_not_found", f"No response with id '{target_id}' is on this connection."
            elif status == "completed":
                code, why = "response_already_completed", f"Response '{target_id}' has already completed."
            else:
                code, why = "response_not_active", f"Response '{target_id}' is no longer active ({status})."
            return self.failed(steer, code, why, None, accepted=False)
        if not target.steerable:
            why = "Responses bound to a conversation or using automatic compaction do not support steering."
            return self.failed(steer, "steering_not_supported", why, lane, accepted=False)
        if len(target.steers) >= MAX_STEERS or self.held + steer.size > MAX_HELD_BYTES:
            why = (
                f"Too much steering input is pending: at most {MAX_STEERS} steers a response and "
                f"{MAX_HELD_BYTES >> 20} MiB a connection are held at once."
            )
            return self.failed(steer, "too_many_pending_steers", why, lane, accepted=False)
        self.held += steer.size
        target.steers.append(steer)
        return self.event(
            "response.steer.accepted", lane, steer={"id": steer.id, "previous_response_id": target_id}
        )

    def begin(self, id: str, lane: str | None, steerable: bool) -> Target:
        target = self.active[id] = Target(id, lane, steerable)
        return target

    def end(self, target: Target, status: str) -> None:
        self.active.pop(target.id, None)
        self.ended[target.id] = status
        while len(self.ended) > KEEP_ENDED:
            self.ended.popitem(last=False)

    def after(self, target: Target, done: Obj) -> tuple[list[Obj], list[Steer]]:
        """Once ``target`` ended as ``done``: the pending events of input held for the client's tool
        output, or the steers its automatic successor commits."""
        calls = [item for item in done["output"] if item["type"] in CLIENT_CALLS]
        if not target.steers or not calls:
            return [], target.steers
        self.pending[target.id] = (target.lane, target.steers)
        stubs = []
        for call in calls:
            stub = {"type": CLIENT_CALLS[call["type"]], "call_id": call["call_id"]}
            if call["type"] == "function_call":
                stub["name"] = call["name"]
            stubs.append(stub)
        pending = [
            self.event(
                "response.steer.pending",
                target.lane,
                reason="waiting_for_required_input",
                required_input=stubs,
                steer={"id": steer.id, "previous_response_id": target.id},
            )
            for steer in target.steers
        ]
        return pending, []

    def take(self, previous_response_id: str | None, lane: str | None) -> list[Steer]:
        """The input held for ``previous_response_id``'s continuation on ``lane``, to prepend."""
        held = self.pending.get(previous_response_id or "")
        if held is None or held[0] != lane:
            return []
        del self.pending[previous_response_id or ""]
        return held[1]

    def committed(self, steers: list[Steer]) -> None:
        self.held -= sum(steer.size for steer in steers)


def cut(
    started: Obj, done: Obj, steps: list[bytes], at: int, frame: Callable[[str, bytes], bytes]
) -> tuple[Obj, list[bytes]]:
    """``done`` ended before ``steps[at]`` (a text delta, not sent): the response as it stands then
    (``incomplete``, ``steered``), and the events that end it, numbered on from ``at``."""
    index = orjson.loads(steps[at])["output_index"]
    sent = "".join(
        delta["delta"]
        for step in steps[:at]
        if step.startswith(DELTA) and (delta := orjson.loads(step))["output_index"] == index
    )
    item = done["output"][index]
    part = item["content"][0]
    kept = {
        **part,
        "text": sent,
        "annotations": [a for a in part["annotations"] if a.get("end_index", a.get("index", 0)) <= len(sent)],
        "logprobs": _logprobs_of(part.get("logprobs"), len(sent)),
    }
    usage = dict(done["usage"])
    unsaid = _core.count_tokens(part["text"]) - _core.count_tokens(sent)
    usage["output_tokens"] = max(usage["output_tokens"] - unsaid, 0)
    usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    ended = {
        **done,
        "status": "incomplete",
        "completed_at": None,
        "incomplete_details": {"reason": "steered"},
        "output": [*done["output"][:index], {**item, "status": "incomplete", "content": [kept]}],
        "usage": usage,
    }
    rest, _ = events(started, ended, 0.0, 0.0, frame=frame)
    first = next(
        i
        for i, step in enumerate(rest)
        if step.startswith(TEXT_DONE) and orjson.loads(step)["output_index"] == index
    )
    tail = []
    for n, step in enumerate(rest[first:]):
        event = orjson.loads(step)
        event["sequence_number"] = at + n
        tail.append(orjson.dumps(event))
    return ended, tail


def _logprobs_of(logprobs: Any, length: int) -> list[Any]:
    """The token logprobs of a text's first ``length`` characters."""
    if not logprobs:
        return []
    kept, used = [], 0
    for entry in orjson.loads(orjson.dumps(logprobs)):
        used += len(entry.get("token", ""))
        if used > length:
            break
        kept.append(entry)
    return kept
