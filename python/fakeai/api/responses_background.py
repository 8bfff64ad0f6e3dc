"""Background responses (``background: true``): answered at once as ``queued``, then seen through
``GET /v1/responses/{id}`` moving ``queued -> in_progress -> completed`` (or ``incomplete``) on the
simulated schedule, cancellable with ``POST /v1/responses/{id}/cancel``, and streamable again with
``GET /v1/responses/{id}?stream=true&starting_after=N``, as OpenAI's background mode.

The response is generated when it is created, as every response is; what a client sees of it follows
the wall clock. A record beside the stored response (kind :data:`KIND`, in the same expiring group, so
it leaves with it) holds when it was created, when its first token and its end are due (the engine's
schedule for it) and whether it was cancelled: every worker derives the same state from the clock, with
no task running anywhere. ``queued`` lasts until the first token is due, ``in_progress`` until the end;
meanwhile the response shows no output and no usage. A cancel before the end marks the record
(``cancelled``: no output, no usage, for good); a cancel after it, or a second one, changes nothing
and answers the response as it is. A background response must be stored (``store: false`` is a 400,
as OpenAI's); cancelling one that is not in background is a 400. A background response in a
``conversation`` adds its input and output items to it when it is created (as every response does); a
cancel takes its output items back out.
"""

from __future__ import annotations

import time

from fakeai.errors import bad_request
from fakeai.store import Obj, Store, conversations

KIND = "response.background"


def record(started: Obj, created: float, wait: float | tuple[float, float]) -> Obj:
    """The record of a background response created at ``created`` (epoch seconds) whose first token and
    end are ``wait`` from then (the engine's ``(first_token_at, done_at)``, or one delay)."""
    first, end = wait if isinstance(wait, tuple) else (wait, wait)
    return {
        "id": started["id"],
        "status": "pending",
        "created": created,
        "first_at": created + max(0.0, first),
        "done_at": created + max(0.0, end, first),
    }


def state(rec: Obj, now: float) -> str:
    """``queued``, ``in_progress``, ``cancelled`` or ``done`` (the stored response's own status)."""
    if rec["status"] == "cancelled":
        return "cancelled"
    if now < rec["first_at"]:
        return "queued"
    return "in_progress" if now < rec["done_at"] else "done"


def view(store: Store, response: Obj) -> Obj:
    """``response`` (as stored, complete) as a client sees it now."""
    if not response.get("background"):
        return response
    rec = store.get(KIND, response["id"])
    now = state(rec, time.time()) if rec is not None else "done"
    if now == "done":
        return response
    return {**response, "status": now, "completed_at": None, "output": [], "usage": None}


def cancel(store: Store, response: Obj) -> Obj:
    """Cancel the background response ``response`` (see the module docs); the response as it is then."""
    if not response.get("background"):
        raise bad_request("Only background responses can be cancelled.", param="response_id")
    rec = store.get(KIND, response["id"])
    if rec is not None and state(rec, time.time()) in ("queued", "in_progress"):
        # one writer wins; a cancel that loses the race finds the record cancelled already
        won = store.update(KIND, {**rec, "status": "cancelled"}, expect=("pending",))
        conversation = response.get("conversation")
        if won and conversation is not None:  # the output it will never give leaves the conversation
            for item in response["output"]:
                conversations.delete_item(store, conversation["id"], item["id"])
    return view(store, response)


def started_of(response: Obj) -> Obj:
    """The ``response.created`` object of a stored (complete) response."""
    return {
        **response,
        "status": "in_progress",
        "completed_at": None,
        "incomplete_details": None,
        "output": [],
        "usage": None,
    }
