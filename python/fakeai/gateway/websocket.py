"""The gateway for WebSocket connections (``/v1/realtime``): the API key before the upgrade, and the
rate limits per response.

A browser cannot set headers on a WebSocket, so OpenAI also takes the key as a subprotocol,
``openai-insecure-api-key.<key>`` (offered beside ``realtime``); otherwise it is the ``Authorization:
Bearer`` header, as on HTTP. A connection without an accepted key is refused before the upgrade with
HTTP 401 and OpenAI's error envelope (granian supports ASGI's WebSocket denial response; a server that
does not answers 403). The key's label travels in the scope under :data:`KEY`, so that the Realtime
endpoint counts each ``response.create`` against the key's limits (:func:`admit`), as one request of
its estimated tokens.
"""

from __future__ import annotations

from fakeai.gateway.limits import refusal
from fakeai.gateway.state import GatewayState
from fakeai.http.asgi import Receive, Scope, Send

#: Scope key holding the key label of a connection, or of an HTTP request when API keys are
#: configured (None when nothing identifies it).
KEY = "fakeai.key"
SUBPROTOCOL_PREFIX = "openai-insecure-api-key."
DENIAL = "websocket.http.response"


def subprotocols(scope: Scope) -> list[str]:
    return [
        p.strip()
        for name, v in scope["headers"]
        if name == b"sec-websocket-protocol"
        for p in v.decode("latin-1").split(",")
    ]


def presented_key(scope: Scope) -> str | None:
    """The key a WebSocket client presents: its bearer header, else its key subprotocol."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value[7:].decode("latin-1").strip() if value[:7].lower() == b"bearer " else ""
    for p in subprotocols(scope):
        if p.startswith(SUBPROTOCOL_PREFIX):
            return p[len(SUBPROTOCOL_PREFIX) :]
    return None


async def deny(scope: Scope, receive: Receive, send: Send, status: int, body: bytes) -> None:
    """Refuse the upgrade with ``status`` and a JSON ``body`` (403 without the denial extension)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if DENIAL in (scope.get("extensions") or {}):
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def admit(state: GatewayState, label: str | None, tokens: int) -> tuple[str, str] | None:
    """Count one response of ``tokens`` against ``label``'s limits: None when allowed, else the
    ``(message, type)`` of OpenAI's rate-limit error."""
    limits = state.limits.limits_of(label) if label else state.limits.default
    if not limits.any:
        return None
    refused, retry, _ = state.limits.admit(label or "anonymous", limits, tokens)
    return refusal(refused, retry, limits, tokens) if refused else None
