"""``x-inference-pod`` / ``x-inference-namespace`` / ``x-inference-port`` response headers.

Kubernetes routers and gateways (llm-d's inference scheduler, the vLLM simulators it is tested with)
read these to see which pod answered. They are taken from the ``POD_NAME`` and ``POD_NAMESPACE``
environment variables (set them from the downward API) plus the port this server listens on, and added
by a pure-ASGI middleware that is installed only when one of those variables is set, so a server
without them pays nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from starlette.middleware import Middleware

from fakeai.http.asgi import Receive, Scope, Send
from fakeai.settings import Settings


class PodHeaders:
    """Appends fixed headers to every HTTP response start."""

    def __init__(self, app, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def headers(settings: Settings, environ: Mapping[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    """The headers to add, or ``[]`` when neither ``POD_NAME`` nor ``POD_NAMESPACE`` is set."""
    environ = os.environ if environ is None else environ
    pod, namespace = environ.get("POD_NAME"), environ.get("POD_NAMESPACE")
    if not pod and not namespace:
        return []
    out = []
    if pod:
        out.append((b"x-inference-pod", pod.encode()))
    if namespace:
        out.append((b"x-inference-namespace", namespace.encode()))
    out.append((b"x-inference-port", str(settings.port).encode()))
    return out


def middleware(settings: Settings) -> list[Middleware]:
    found = headers(settings)
    return [Middleware(PodHeaders, headers=found)] if found else []
