"""vLLM's sleep-mode development endpoints (``--enable-sleep-mode``): ``POST /sleep?level=1|2``,
``POST /wake_up`` and ``GET /is_sleeping`` (``{"is_sleeping": bool}``).

The state is server-wide (:mod:`fakeai.runtime.control`): a sleep ordered through one worker puts
every worker's inference routes to 503 (``engine_sleeping``). ``/wake_up`` answers, as vLLM's does,
once the engine is awake: after ``--wake-up-duration`` seconds, during which inference still answers
503 (``engine_waking``) and ``/is_sleeping`` stays true. The level may also come as a JSON body
``{"level": 2}``; vLLM's ``tags`` query parameters of ``/wake_up`` (``weights``, ``kv_cache``) are
accepted. ``/sleep`` and ``/wake_up`` need ``--admin-key`` when one is set (:mod:`fakeai.api.admin`).
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.admin import AdminGuard, control_body
from fakeai.context import ServerContext
from fakeai.errors import bad_request

LEVELS = ("1", "2")
TAGS = ("weights", "kv_cache")


async def _level(request: Request) -> int:
    raw = request.query_params.get("level")
    body = await control_body(request)
    if raw is None and body.strip():
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise bad_request(f"The body is not valid JSON ({e}).", code="invalid_json") from None
        value = doc.get("level", 1) if isinstance(doc, dict) else doc
        raw = str(value) if isinstance(value, int) and not isinstance(value, bool) else repr(value)
    raw = "1" if raw is None else raw
    if raw not in LEVELS:
        raise bad_request(f"'level' must be 1 or 2, got {raw!r}.", param="level", code="invalid_value")
    return int(raw)


def routes(ctx: ServerContext) -> list[Route]:
    if not ctx.settings.enable_sleep_mode:
        return []
    guard = AdminGuard(ctx.settings.admin_key)
    control = ctx.control

    async def sleep(request: Request) -> Response:
        guard.check(request)
        control.sleep(await _level(request))
        return Response(status_code=200)

    async def wake_up(request: Request) -> Response:
        guard.check(request)
        for tag in request.query_params.getlist("tags"):
            if tag not in TAGS:
                raise bad_request(f"Unknown tag {tag!r} (expected {' or '.join(TAGS)}).", param="tags")
        seconds = ctx.settings.wake_up_duration_s
        control.wake_up(seconds)
        if seconds > 0:
            await asyncio.sleep(seconds)
        control.woken()
        return Response(status_code=200)

    async def is_sleeping(request: Request) -> Response:
        return Response(orjson.dumps({"is_sleeping": control.is_sleeping()}), media_type="application/json")

    return [
        Route("/sleep", sleep, methods=["POST"]),
        Route("/wake_up", wake_up, methods=["POST"]),
        Route("/is_sleeping", is_sleeping, methods=["GET"]),
    ]
