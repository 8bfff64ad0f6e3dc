"""``/v1/containers``: OpenAI's Containers API (``client.containers`` and ``client.containers.files``).

- ``POST /v1/containers`` (``name``, ``expires_after: {"anchor": "last_active_at", "minutes"}``,
  ``file_ids`` copied in, ``memory_limit`` ``1g``/``4g``/``16g``/``64g``, ``network_policy`` checked
  as a code interpreter tool's and shown without its domain secrets, ``skills`` checked: a
  ``skill_reference`` must name a stored skill (404 naming ``skills[i].skill_id``) and, if it gives
  one, a live ``version`` (a number or ``latest``), an inline skill's ``source.data`` must be base64
  of a valid skill zip (:mod:`fakeai.engine.skill_bundle`), 50 MiB decoded in all, as OpenAI
  documents; the SDK's container types show no skills, so they are not kept), ``GET /v1/containers`` (cursor pages of 1-100, ``order``, ``name`` an exact-name filter),
  ``GET`` and ``DELETE /v1/containers/{id}`` (``container.deleted``).
- ``POST /v1/containers/{id}/files``: a multipart upload (``file``, at most ``--max-file-bytes``,
  streamed to disk as ``/v1/files`` uploads are) or a JSON ``{"file_id"}`` copying a stored file (a
  404 naming ``file_id`` when there is none); ``GET`` lists them (cursor pages), ``GET``/``DELETE
  .../files/{file_id}`` (``container.file.deleted``) and ``.../files/{file_id}/content`` (the bytes).

Containers and files live in the store (:mod:`fakeai.engine.containers`: expiry, copies, the sweep
of expired files), so every worker sees the same ones. The handlers' store work runs off the event
loop (deleting or expiring a container deletes each of its files).
"""

from __future__ import annotations

import base64
import binascii
import io

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import json_body, json_response, page
from fakeai.context import ServerContext
from fakeai.engine.containers import DEFAULT_MINUTES, FILE_KIND, KIND, Containers, present, shown_file
from fakeai.engine.response_tools import network_policy
from fakeai.engine.skill_bundle import MAX_BUNDLE_BYTES, MiB, read_zip
from fakeai.engine.skills import Skills
from fakeai.errors import ApiError, bad_request, missing, not_found
from fakeai.http.blob import OpenFileResponse, open_blob
from fakeai.http.multipart import read_form
from fakeai.schemas.containers import CreateContainer, CreateContainerFile, InlineSkill
from fakeai.store import Obj, StorageFull


def _check_skills(req: CreateContainer, skills: Skills) -> None:
    """Every skill of a container request checked (store reads, zip checks: call it off the loop)."""
    inline = 0
    for i, skill in enumerate(req.skills or ()):
        if not isinstance(skill, InlineSkill):
            skills.resolve(skill.skill_id, skill.version, f"skills[{i}]")
            continue
        where = f"skills[{i}].source.data"
        try:
            data = base64.b64decode(skill.source.data, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"Invalid '{where}': expected base64 data.", param=where) from None
        inline += len(data)
        if inline > MAX_BUNDLE_BYTES:
            raise bad_request(
                f"Inline skills hold more than {MAX_BUNDLE_BYTES // MiB} MiB of zip data in all.", param=where
            )
        try:
            read_zip(io.BytesIO(data), len(data))
        except ApiError as error:
            error.param = where
            raise


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    create_decoder = msgspec.json.Decoder(CreateContainer)
    file_decoder = msgspec.json.Decoder(CreateContainerFile)

    def containers() -> Containers:
        """The containers under the current settings (they may change at run time), and a sweep of
        expired files when one is due."""
        box = Containers(store, ctx.settings)
        box.sweep_soon()
        return box

    async def create(request: Request) -> Response:
        req = await json_body(request, create_decoder, ctx.settings.max_body_bytes)
        if req.network_policy is not None:
            network_policy(req.network_policy, "network_policy")
        await run_in_threadpool(_check_skills, req, Skills(store, ctx.settings))
        minutes = DEFAULT_MINUTES if req.expires_after is None else req.expires_after.minutes
        try:
            container = await run_in_threadpool(
                containers().create,
                req.name,
                minutes=minutes,
                memory_limit=req.memory_limit,
                policy=req.network_policy,
                file_ids=req.file_ids or (),
            )
        except StorageFull as exc:
            error = quota_exceeded(exc)
            error.param = "file_ids"
            raise error from None
        return json_response(present(container))

    async def list_containers(request: Request) -> Response:
        containers()
        return page(request, store, KIND, tag=request.query_params.get("name"), present=present)

    async def retrieve(request: Request) -> Response:
        return json_response(
            await run_in_threadpool(containers().retrieve, request.path_params["container_id"])
        )

    async def delete(request: Request) -> Response:
        container_id = request.path_params["container_id"]
        if not await run_in_threadpool(containers().delete, container_id):
            raise not_found("container", container_id)
        return json_response({"id": container_id, "object": "container.deleted", "deleted": True})

    async def using(request: Request) -> tuple[Containers, Obj]:
        """The running container of the path, refreshed (404 unknown, 400 expired)."""
        box = containers()
        return box, await run_in_threadpool(box.use, request.path_params["container_id"])

    async def create_file(request: Request) -> Response:
        box, container = await using(request)
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            _, upload = await read_form(request, store, "file", ctx.settings.max_file_bytes)
            try:
                file = await run_in_threadpool(box.add_upload, container, upload)
            except StorageFull as exc:
                raise quota_exceeded(exc) from None
            return json_response(file)
        req = await json_body(request, file_decoder, ctx.settings.max_body_bytes)
        if req.file_id is None:
            raise missing("file_id")
        try:
            file = await run_in_threadpool(box.copy, container, req.file_id, "file_id")
        except StorageFull as exc:
            error = quota_exceeded(exc)
            error.param = "file_id"
            raise error from None
        return json_response(file)

    async def list_files(request: Request) -> Response:
        _, container = await using(request)
        return page(request, store, FILE_KIND, tag=container["id"], present=shown_file)

    async def the_file(request: Request) -> tuple[Containers, Obj]:
        box, container = await using(request)
        return box, box.file(container, request.path_params["file_id"])

    async def retrieve_file(request: Request) -> Response:
        return json_response((await the_file(request))[1])

    async def delete_file(request: Request) -> Response:
        box, file = await the_file(request)
        if not await run_in_threadpool(box.drop_file, file):  # deleted meanwhile
            raise not_found("container file", file["id"])
        return json_response({"id": file["id"], "object": "container.file.deleted", "deleted": True})

    async def content(request: Request) -> Response:
        _, file = await the_file(request)
        # opened here, so a delete by another worker from now on does not matter; before, it is a 404
        opened = await open_blob(store, file["id"])
        if opened is None:
            raise not_found("container file", file["id"])
        return OpenFileResponse(opened, media_type="application/octet-stream")

    base = "/v1/containers/{container_id}"
    return [
        Route("/v1/containers", create, methods=["POST"]),
        Route("/v1/containers", list_containers, methods=["GET"]),
        Route(base, retrieve, methods=["GET"]),
        Route(base, delete, methods=["DELETE"]),
        Route(base + "/files", create_file, methods=["POST"]),
        Route(base + "/files", list_files, methods=["GET"]),
        Route(base + "/files/{file_id}", retrieve_file, methods=["GET"]),
        Route(base + "/files/{file_id}", delete_file, methods=["DELETE"]),
        Route(base + "/files/{file_id}/content", content, methods=["GET"]),
    ]
