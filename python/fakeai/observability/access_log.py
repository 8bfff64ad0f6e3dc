"""The access log (``--access-log``): one line per HTTP request, in the shape web servers write it.

::

    127.0.0.1:51234 - "POST /v1/chat/completions HTTP/1.1" 200 1.9ms gpt-4o
    127.0.0.1:51236 - "GET /v1/models/nope HTTP/1.1" 404 0.4ms -

client address, request line (path and query string), status, time from arrival to the last byte, and
the model the request was counted under (``-`` for requests without one). That includes a request
refused before its inference ran (an injected fault, a rate limit's 429, a context-length 400), which
the metrics count as an error of the model it asked for: the metrics middleware leaves that label in
the scope; with ``--no-metrics`` the model asked for is logged. A response the client
abandoned before it started is logged with status 499, as nginx does. Lines go to the
``fakeai.access`` logger (standard output, at info whatever ``--log-level`` says).

The middleware is pure ASGI and installed only with ``--access-log``: when it is off, no code of it
runs on any request. WebSockets and lifespan events pass through unlogged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

from fakeai.http.asgi import REQUESTED_MODEL, Message, Receive, Scope, Send
from fakeai.observability.recorder import MODEL_KEY

log = logging.getLogger("fakeai.access")


def line(scope: Scope, status: int, seconds: float) -> str:
    """One access-log line for a finished request."""
    client = scope.get("client")
    who = f"{client[0]}:{client[1]}" if client else "-"
    query = scope.get("query_string", b"")
    target = scope["path"] + ("?" + query.decode("latin-1") if query else "")
    request = f"{scope['method']} {_one_line(target)} HTTP/{scope.get('http_version', '1.1')}"
    model = scope.get(MODEL_KEY) or scope.get(REQUESTED_MODEL)  # the latter: with --no-metrics
    if type(model) is not str or not model:
        model = "-"
    elif not model.isprintable() or " " in model or '"' in model:  # one field, one line: never forged
        model = repr(model)
    return f'{who} - "{request}" {status} {seconds * 1000:.1f}ms {model}'


def _one_line(text: str) -> str:
    """``text`` with control characters and quotes escaped (a percent-decoded ``%0A`` in a path is a
    newline, a ``%22`` would end the quoted request early and forge the status after it)."""
    if text.isprintable() and '"' not in text:
        return text
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


class AccessLog:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        def sending(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            status = status or 500
            raise
        finally:
            log.info("%s", line(scope, status or 499, time.perf_counter() - start))
