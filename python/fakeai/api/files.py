"""``/v1/files``: upload (multipart, streamed to disk), list, retrieve, content, delete.

A file is a ``file`` object in the store (tagged with its purpose, sized by its bytes against the
storage quota) and a blob named by its id. ``batch`` and ``fine-tune`` uploads are validated as JSON
Lines before they are stored; the stored file's ``status`` is then ``processed``.
"""

from __future__ import annotations

import time
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.resources import json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request, missing, not_found
from fakeai.http.blob import OpenFileResponse, open_blob
from fakeai.http.multipart import FormFile, read_form
from fakeai.schemas.common import decimal
from fakeai.schemas.files import PURPOSES, validate_jsonl
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import file_object, is_expired, live_file, new_id

MIN_EXPIRY_S = 3600
MAX_EXPIRY_S = 30 * 24 * 3600


def check_purpose(purpose: str | None) -> str:
    if purpose is None:
        raise missing("purpose")
    if purpose not in PURPOSES:
        raise bad_request(
            f"'{purpose}' is not one of {', '.join(map(repr, PURPOSES))} - 'purpose'.",
            param="purpose",
            code="invalid_value",
        )
    return purpose


def expiry(fields: dict[str, str], created: int) -> int | None:
    anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise bad_request("'expires_after.anchor' must be 'created_at'.", param="expires_after.anchor")
    value = None if seconds is None else decimal(seconds, MAX_EXPIRY_S)
    if value is None or value < MIN_EXPIRY_S:
        raise bad_request(
            f"'expires_after.seconds' must be an integer from {MIN_EXPIRY_S} to {MAX_EXPIRY_S}.",
            param="expires_after.seconds",
        )
    return created + value


async def store_file(
    ctx: ServerContext, upload: FormFile, purpose: str, expires_at: int | None = None, replaces: int = 0
) -> Obj:
    """Validate (for ``batch``/``fine-tune``), commit the blob and record the file; discards it on error.

    ``replaces``: stored bytes this file supersedes and that are deleted right after (the parts of a
    completed upload), not counted twice against ``--max-storage-bytes``."""
    store = ctx.store
    file_id = new_id("file-")
    try:
        if purpose in ("batch", "fine-tune"):
            await run_in_threadpool(_flush_and_validate, upload, purpose)
        await run_in_threadpool(store.commit_blob, upload.writer, file_id)
    except BaseException:
        store.discard_blob(upload.writer)
        raise
    obj = file_object(file_id, upload.filename, upload.size, purpose, expires_at)
    try:
        quota = ctx.settings.max_storage_bytes + replaces
        store.insert("file", obj, tag=purpose, size=upload.size, quota=quota)
    except StorageFull as exc:
        store.delete_blob(file_id)
        raise quota_exceeded(exc) from None
    return obj


def quota_exceeded(exc: StorageFull, param: str | None = "file") -> ApiError:
    """The 400 of a write past ``--max-storage-bytes`` (every API that stores what a client made)."""
    return bad_request(
        f"Storage quota exceeded: {exc} (--max-storage-bytes).", param=param, code="storage_quota_exceeded"
    )


def _flush_and_validate(upload: FormFile, purpose: str) -> None:
    upload.writer.flush()
    validate_jsonl(Path(upload.writer.name), purpose)


def _live(store: Store, file_id: str) -> Obj:
    obj = live_file(store, file_id)
    if obj is None:
        raise not_found("file", file_id)
    return obj


def _live_page(
    store: Store, purpose: str | None, after: str | None, limit: int, order: str
) -> tuple[list[Obj], bool]:
    """A page of files that skips expired ones, reading on past them so the page stays full."""
    data: list[Obj] = []
    while True:
        chunk, more = store.page("file", tag=purpose, after=after, limit=limit - len(data), order=order)
        data += [f for f in chunk if not is_expired(f)]
        if not more or len(data) == limit:
            return data, more
        after = chunk[-1]["id"]


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_file_bytes

    async def create(request: Request) -> Response:
        fields, upload = await read_form(request, store, "file", limit)
        try:
            purpose = check_purpose(fields.get("purpose"))
            expires_at = expiry(fields, int(time.time()))
        except ApiError:
            store.discard_blob(upload.writer)
            raise
        return json_response(await store_file(ctx, upload, purpose, expires_at))

    async def list_files(request: Request) -> Response:
        limit_, order, after = page_params(request, default_limit=10_000, max_limit=10_000)
        data, more = _live_page(store, request.query_params.get("purpose"), after, limit_, order)
        return list_response(data, more)

    async def retrieve(request: Request) -> Response:
        return json_response(_live(store, request.path_params["file_id"]))

    async def content(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        _live(store, file_id)
        # opened here, so a delete by another worker from now on does not matter; before, it is a 404
        file = await open_blob(store, file_id)
        if file is None:  # deleted meanwhile
            raise not_found("file", file_id)
        return OpenFileResponse(file, media_type="application/octet-stream")

    async def delete(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        if store.delete("file", file_id) is None:
            raise not_found("file", file_id)
        await run_in_threadpool(store.delete_blob, file_id)
        return json_response({"id": file_id, "object": "file", "deleted": True})

    return [
        Route("/v1/files", create, methods=["POST"]),
        Route("/v1/files", list_files, methods=["GET"]),
        Route("/v1/files/{file_id}", retrieve, methods=["GET"]),
        Route("/v1/files/{file_id}", delete, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", content, methods=["GET"]),
    ]
