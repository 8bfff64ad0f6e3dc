"""Deterministic retries: a request fails its first N attempts and succeeds on attempt N + 1.

Retry logic (an SDK's ``max_retries``, a gateway's fallback) is tested by scripting failures per
request: a request carrying ``x-fakeai-fail-attempts: N`` and an ``x-request-id`` is answered with an
injected error (the kind of ``x-fakeai-error`` / ``X-Return-Error``, else 503) on its first N
attempts, and normally after. A scenario rule with ``first = N`` does the same for every request
matching its route, model and key. Attempts are counted per ``x-request-id`` (or, without one, the
``idempotency-key`` header some clients send) in a shared table, so the count holds whichever worker
answers each attempt: a set-associative array in the Rust core (``shm/attempts.rs``) of
:data:`SETS` x 8 ids, where a new id replaces the one seen longest ago, so memory stays bounded.
"""

from __future__ import annotations

import time

from fakeai import _core
from fakeai.runtime import shared

TABLE = "attempts"
#: Rows of the attempts table; each remembers 8 request ids.
SETS = 4096
#: Most failing attempts one request may ask for.
MAX_FAIL_ATTEMPTS = 100


class Attempts:
    """Attempt numbers per request id, server-wide."""

    def __init__(self) -> None:
        self.table = shared.open_table(TABLE, SETS, _core.ATTEMPTS_TABLE_WIDTH)

    def next(self, request_id: str) -> int:
        """Count one more attempt of ``request_id``; returns its number (1 for the first)."""
        return self.table.count_attempt(request_id, int(time.time() * 1000), SETS)


#: Request ids for requests that bring none: 32 hex digits, like vLLM's ``uuid4().hex``, unique per
#: server (a random prefix per object, then a counter). In the core, so that the Rust hot path
#: (:mod:`fakeai.api.hot`) makes them the same way.
RequestIds = _core.RequestIds
