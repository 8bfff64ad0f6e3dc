"""``/v1/uploads``: a large file sent in parts (each up to 64 MB), assembled in the order the client
names on ``complete`` (optionally checked against an MD5), then stored as a regular file.

An upload is pending for an hour (then ``expired``); its parts are ``upload_part`` objects tagged with
the upload id, each a blob, removed once the upload is completed or cancelled.
"""

from __future__ import annotations

import hashlib
import time

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import check_purpose, quota_exceeded, store_file
from fakeai.api.resources import fetch, json_body, json_response
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.http.multipart import FormFile, read_form
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import new_id

PART_BYTES = 64 * 1024 * 1024
UPLOAD_TTL_S = 3600
COPY_BYTES = 1 << 20


class CreateUpload(msgspec.Struct):
    bytes: int
    filename: str
    mime_type: str
    purpose: str


class CompleteUpload(msgspec.Struct):
    part_ids: list[str]
    md5: str | None = None


def _pending(store: Store, upload_id: str) -> Obj:
    upload = _current(fetch(store, "upload", upload_id, "upload"))
    if upload["status"] != "pending":
        raise bad_request(
            f"Upload '{upload_id}' is {upload['status']}, not pending.", code="invalid_upload_state"
        )
    return upload


def _current(upload: Obj) -> Obj:
    if upload["status"] == "pending" and upload["expires_at"] <= time.time():
        upload["status"] = "expired"
    return upload


def _assemble(store: Store, part_ids: list[str], md5: str | None, upload: FormFile) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    for part_id in part_ids:
        with store.blob_path(part_id).open("rb") as part:
            while chunk := part.read(COPY_BYTES):
                digest.update(chunk)
                upload.writer.write(chunk)
    upload.writer.flush()
    if md5 is not None and digest.hexdigest() != md5.lower():
        raise bad_request(
            f"The md5 checksum {md5} does not match the uploaded bytes.", param="md5", code="md5_mismatch"
        )


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    settings = ctx.settings
    create_decoder = msgspec.json.Decoder(CreateUpload)
    complete_decoder = msgspec.json.Decoder(CompleteUpload)

    async def create(request: Request) -> Response:
        req = await json_body(request, create_decoder, settings.max_body_bytes)
        check_purpose(req.purpose)
        if not 0 < req.bytes <= settings.max_file_bytes:
            raise bad_request(
                f"'bytes' must be from 1 to {settings.max_file_bytes} (--max-file-bytes), got {req.bytes}.",
                param="bytes",
            )
        now = int(time.time())
        upload = {
            "id": new_id("upload_"),
            "object": "upload",
            "bytes": req.bytes,
            "created_at": now,
            "expires_at": now + UPLOAD_TTL_S,
            "filename": req.filename,
            "purpose": req.purpose,
            "status": "pending",
            "file": None,
        }
        store.insert("upload", upload)
        return json_response(upload)

    async def retrieve(request: Request) -> Response:
        return json_response(_current(fetch(store, "upload", request.path_params["upload_id"], "upload")))

    async def add_part(request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        _pending(store, upload_id)
        _, data = await read_form(request, store, "data", min(PART_BYTES, settings.max_file_bytes))
        part = {
            "id": new_id("part_"),
            "object": "upload.part",
            "created_at": int(time.time()),
            "upload_id": upload_id,
        }
        try:
            await run_in_threadpool(store.commit_blob, data.writer, part["id"])
        except BaseException:
            store.discard_blob(data.writer)
            raise
        try:
            store.insert(
                "upload_part",
                {**part, "bytes": data.size},
                tag=upload_id,
                size=data.size,
                quota=settings.max_storage_bytes,
            )
        except StorageFull as exc:
            store.delete_blob(part["id"])
            raise quota_exceeded(exc) from None
        return json_response(part)

    async def complete(request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        req = await json_body(request, complete_decoder, settings.max_body_bytes)
        upload = _pending(store, upload_id)
        parts = {p["id"]: p for p in store.all("upload_part", tag=upload_id)}
        unknown = [p for p in req.part_ids if p not in parts]
        if unknown:
            raise bad_request(
                f"Unknown part id(s) for upload '{upload_id}': {', '.join(unknown)}.", param="part_ids"
            )
        if len(set(req.part_ids)) != len(req.part_ids):
            raise bad_request("'part_ids' must not repeat a part.", param="part_ids")
        size = sum(parts[p]["bytes"] for p in req.part_ids)
        if size != upload["bytes"]:
            raise bad_request(
                f"The parts hold {size} bytes but the upload was created for {upload['bytes']}.",
                param="part_ids",
            )
        assembled = FormFile(upload["filename"], "application/octet-stream", store.blob_writer(), size)
        try:
            await run_in_threadpool(_assemble, store, req.part_ids, req.md5, assembled)
        except BaseException:
            store.discard_blob(assembled.writer)
            raise
        file = await store_file(ctx, assembled, upload["purpose"], replaces=size)  # the parts go next
        done = {**upload, "status": "completed", "file": file}
        if not store.update("upload", done, expect=("pending",)):
            store.delete("file", file["id"])
            store.delete_blob(file["id"])
            raise bad_request(
                f"Upload '{upload_id}' was completed or cancelled meanwhile.", code="invalid_upload_state"
            )
        await run_in_threadpool(_drop_parts, store, upload_id)
        return json_response(done)

    async def cancel(request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        cancelled = {**_pending(store, upload_id), "status": "cancelled"}
        if not store.update("upload", cancelled, expect=("pending",)):
            raise bad_request(f"Upload '{upload_id}' is no longer pending.", code="invalid_upload_state")
        await run_in_threadpool(_drop_parts, store, upload_id)
        return json_response(cancelled)

    return [
        Route("/v1/uploads", create, methods=["POST"]),
        Route("/v1/uploads/{upload_id}", retrieve, methods=["GET"]),
        Route("/v1/uploads/{upload_id}/parts", add_part, methods=["POST"]),
        Route("/v1/uploads/{upload_id}/complete", complete, methods=["POST"]),
        Route("/v1/uploads/{upload_id}/cancel", cancel, methods=["POST"]),
    ]


def _drop_parts(store: Store, upload_id: str) -> None:
    for part in store.all("upload_part", tag=upload_id):
        store.delete("upload_part", part["id"])
        store.delete_blob(part["id"])
