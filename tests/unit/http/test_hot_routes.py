"""The hot-route shortcut answers as the Starlette app would: ApiErrors, the exceptions the app has a
handler for, and anything else as a logged 500, in the OpenAI envelope."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from fakeai.errors import ApiError, exception_handlers
from fakeai.http.hot_routes import SHORTCUT_PATHS, HotRoutes
from fakeai.store.base import StorageFull


class Raising:
    """An endpoint that raises what it was given."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __call__(self, scope, receive, send) -> None:
        raise self.error


def answer(error: Exception, path: str = "/v1/responses") -> httpx.Response:
    app = Starlette(
        routes=[Route(path, Raising(error), methods=["POST"])], exception_handlers=exception_handlers
    )
    hot = HotRoutes(app, [])
    assert path in hot.hot  # served by the shortcut, not Starlette's router

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hot), base_url="http://t") as c:
            return await c.post(path, json={})

    return asyncio.run(post())


def test_responses_is_a_shortcut_path_but_not_a_rust_hot_path() -> None:
    assert "/v1/responses" in SHORTCUT_PATHS
    app = Starlette(routes=[Route("/v1/responses", Raising(ValueError()), methods=["POST"])])
    assert HotRoutes(app, []).endpoints == {}


def test_an_api_error_is_its_envelope() -> None:
    r = answer(ApiError(404, "nope", code="not_found"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_an_exception_with_a_handler_gets_the_handlers_answer() -> None:
    r = answer(StorageFull("10 bytes do not fit"))
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "storage_quota_exceeded"


def test_anything_else_is_a_500_envelope(caplog) -> None:
    r = answer(RuntimeError("boom"))
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert "unexpected error on POST /v1/responses" in caplog.text
