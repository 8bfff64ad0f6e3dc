"""``/v1/skills``: OpenAI's Skills API (``client.skills``, ``.content``, ``.versions``, ``.versions.content``).

- ``POST /v1/skills`` and ``POST /v1/skills/{id}/versions`` (``default``: ``true``/``false``) take a
  multipart upload as the SDK sends it: ``files[]`` parts named by their paths in one top-level folder
  (a folder upload), or one ``files`` part holding a zip. The parts stream to disk as ``/v1/files``
  uploads do (:func:`fakeai.http.multipart.read_files`), at most 500 of them and the smaller of
  ``--max-file-bytes`` and OpenAI's 50 MB in all (a 413 past it); the bundle is then checked off the
  event loop (:mod:`fakeai.engine.skill_bundle`: zip bombs, traversal, ``SKILL.md``'s front matter)
  and counted against ``--max-storage-bytes`` (a 400 ``storage_quota_exceeded`` past it).
- ``GET /v1/skills`` and ``GET /v1/skills/{id}/versions``: cursor pages (``limit`` 1-100, default
  20, ``order``, ``after``), newest first by default. ``GET``, ``POST`` (``default_version``) and
  ``DELETE /v1/skills/{id}`` (``skill.deleted``); ``GET``/``DELETE .../versions/{version}``
  (``skill.version.deleted``; a version is a number or ``latest``).
- ``GET /v1/skills/{id}/content`` (the default version's) and ``.../versions/{version}/content``:
  the bundle's zip bytes, ``application/zip``.

State lives in the store (:mod:`fakeai.engine.skills`), so every worker sees the same skills.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import json_body, json_response, page
from fakeai.context import ServerContext
from fakeai.engine.skill_bundle import MAX_BUNDLE_BYTES, MAX_FILES, PARAM, Part
from fakeai.engine.skills import KIND, VERSION_KIND, Bundle, Skills, bundle, present
from fakeai.errors import ApiError, bad_request, not_found
from fakeai.http.blob import OpenFileResponse, open_blob
from fakeai.http.multipart import read_files
from fakeai.schemas.skills import UpdateSkill
from fakeai.store import Obj, StorageFull


def _default(fields: dict[str, str]) -> bool:
    raw = fields.get("default", "false").strip().lower()
    if raw not in ("true", "false"):
        raise bad_request(
            f"Invalid value for 'default': expected true or false, got {raw[:32]!r}.",
            param="default",
            code="invalid_value",
        )
    return raw == "true"


async def _stored(call: Callable[..., Obj], *args: Any, **kwargs: Any) -> Obj:
    """``call`` (a store write) off the event loop; past ``--max-storage-bytes``, a 400 naming ``files``."""
    try:
        return await run_in_threadpool(call, *args, **kwargs)
    except StorageFull as exc:
        error = quota_exceeded(exc)
        error.param = PARAM
        raise error from None


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    update_decoder = msgspec.json.Decoder(UpdateSkill)

    def skills() -> Skills:  # the settings may change at run time
        return Skills(store, ctx.settings)

    async def upload(request: Request) -> tuple[dict[str, str], Bundle]:
        """The form's text fields and its checked bundle (an uncommitted blob writer)."""
        limit = min(ctx.settings.max_file_bytes, MAX_BUNDLE_BYTES)
        fields, files = await read_files(request, store, (PARAM, PARAM + "[]"), limit, MAX_FILES)
        parts = [Part(file.filename, file.writer, file.size) for file in files]
        return fields, await run_in_threadpool(bundle, store, parts)

    async def create(request: Request) -> Response:
        _, made = await upload(request)
        return json_response(await _stored(skills().create, made))

    async def list_skills(request: Request) -> Response:
        return page(request, store, KIND, present=present)

    async def retrieve(request: Request) -> Response:
        return json_response(present(skills().get(request.path_params["skill_id"])))

    async def update(request: Request) -> Response:
        req = await json_body(request, update_decoder, ctx.settings.max_body_bytes)
        skill_id = request.path_params["skill_id"]
        return json_response(await run_in_threadpool(skills().set_default, skill_id, req.default_version))

    async def delete(request: Request) -> Response:
        skill_id = request.path_params["skill_id"]
        if not await run_in_threadpool(skills().delete, skill_id):
            raise not_found("skill", skill_id)
        return json_response({"id": skill_id, "object": "skill.deleted", "deleted": True})

    async def zip_of(key: str, what: str) -> Response:
        # opened here, so a delete by another worker from now on does not matter; before, it is a 404
        opened = await open_blob(store, key)
        if opened is None:
            raise not_found(what, key)
        return OpenFileResponse(opened, media_type="application/zip")

    async def content(request: Request) -> Response:
        return await zip_of(skills().default_key(request.path_params["skill_id"]), "skill version")

    async def create_version(request: Request) -> Response:
        skill_id = request.path_params["skill_id"]
        box = skills()
        box.get(skill_id)  # an unknown skill is a 404 before its upload is read
        fields, made = await upload(request)
        try:
            default = _default(fields)
        except ApiError:
            store.discard_blob(made.writer)
            raise
        return json_response(await _stored(box.add_version, skill_id, made, default=default))

    async def list_versions(request: Request) -> Response:
        skill = skills().get(request.path_params["skill_id"])
        return page(request, store, VERSION_KIND, tag=skill["id"])

    async def retrieve_version(request: Request) -> Response:
        path = request.path_params
        return json_response(skills().version(path["skill_id"], path["version"]))

    async def delete_version(request: Request) -> Response:
        path = request.path_params
        return json_response(
            await run_in_threadpool(skills().delete_version, path["skill_id"], path["version"])
        )

    async def version_content(request: Request) -> Response:
        path = request.path_params
        version = skills().version(path["skill_id"], path["version"])
        return await zip_of(version["id"], "skill version")

    base = "/v1/skills/{skill_id}"
    return [
        Route("/v1/skills", create, methods=["POST"]),
        Route("/v1/skills", list_skills, methods=["GET"]),
        Route(base, retrieve, methods=["GET"]),
        Route(base, update, methods=["POST"]),
        Route(base, delete, methods=["DELETE"]),
        Route(base + "/content", content, methods=["GET"]),
        Route(base + "/versions", create_version, methods=["POST"]),
        Route(base + "/versions", list_versions, methods=["GET"]),
        Route(base + "/versions/{version}", retrieve_version, methods=["GET"]),
        Route(base + "/versions/{version}", delete_version, methods=["DELETE"]),
        Route(base + "/versions/{version}/content", version_content, methods=["GET"]),
    ]
