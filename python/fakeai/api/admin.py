"""``GET /admin/config`` and ``POST /admin/config``: the run-time settings, read and changed while the
server runs (:mod:`fakeai.runtime.live_config`), and the guard of every control route.

``GET`` answers the settings that may change at run time, keyed by their settings field names
(``ttft_ms``, ``error_rate``, ``chaos_mix``, ``rpm``, ``fake_metrics``, ``mode`` ...). ``POST`` takes a
partial object of them; a bad key or value is a 400 naming the key as ``param`` (nothing changes
then); otherwise the change reaches every worker before its next request and the answer is the new
full configuration. Changes are logged with their old and new values.

The guard: with ``--admin-key`` these routes (and ``/sleep``, ``/wake_up``) need that key (as a bearer
token or ``x-api-key``; the API keys do not open them); without it, the API keys protect them as any
route when auth is on. ``--no-admin-api`` removes ``/admin/config``.

A control route's body is a small JSON object: one over :data:`MAX_CONTROL_BODY` bytes is a 413 before
it is parsed, whatever ``--max-body-bytes`` allows.
"""

from __future__ import annotations

import hmac

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request
from fakeai.http.asgi import read_body, too_large
from fakeai.runtime.live_config import ConfigError

#: Largest body of a control route (``/admin/config``, ``/sleep``): every setting fits in a few kB.
MAX_CONTROL_BODY = 64 * 1024


class AdminGuard:
    """Checks ``--admin-key`` on a control route's request (nothing to do without one)."""

    def __init__(self, key: str) -> None:
        self.key = key.encode()

    def check(self, request: Request) -> None:
        if not self.key:
            return
        auth = request.headers.get("authorization", "")
        presented = (
            auth[7:].strip() if auth[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
        )
        if not hmac.compare_digest(presented.encode(), self.key):
            raise ApiError(
                401,
                "This control route needs the admin key (--admin-key) as a bearer token.",
                code="invalid_admin_key",
            )


def _json(document: object) -> Response:
    return Response(orjson.dumps(document), media_type="application/json")


async def control_body(request: Request) -> bytes:
    """A control route's body, at most :data:`MAX_CONTROL_BODY` bytes (a 413 past it)."""
    try:
        return await read_body(request.receive, MAX_CONTROL_BODY)
    except ApiError as exc:
        if exc.status == 413:
            raise too_large(MAX_CONTROL_BODY, "A control request's body", "fixed") from None
        raise


def routes(ctx: ServerContext) -> list[Route]:
    if not ctx.settings.admin_api:
        return []
    guard = AdminGuard(ctx.settings.admin_key)
    live = ctx.live

    async def read(request: Request) -> Response:
        guard.check(request)
        return _json(live.values())

    async def change(request: Request) -> Response:
        guard.check(request)
        try:
            changes = orjson.loads(await control_body(request))
        except orjson.JSONDecodeError as e:
            raise bad_request(f"The body is not valid JSON ({e}).", code="invalid_json") from None
        if not isinstance(changes, dict):
            raise bad_request("The body must be a JSON object of settings.", code="invalid_type")
        try:
            live.update(changes, ServerContext.check)
        except ConfigError as e:
            raise bad_request(str(e), param=e.key, code="invalid_value") from None
        return _json(live.values())

    return [
        Route("/admin/config", read, methods=["GET"]),
        Route("/admin/config", change, methods=["POST"]),
    ]
