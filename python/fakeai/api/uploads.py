"""``/v1/uploads``: a large file sent in parts (each up to 64 MB), assembled in the order the client
names on ``complete`` (optionally checked against an MD5), then stored as a regular file.

An upload is pending for an hour (then ``expired``); its parts are ``upload_part`` objects tagged with
the upload id, each a blob, at most :data:`MAX_PARTS` of them. The rules that keep parts from outliving
their upload, across every worker process:

1. An upload leaves ``pending`` only by a compare-and-set of the store, so one request wins: ``cancel``
   moves it to ``cancelled``; ``complete`` first claims it by moving it to ``completing`` (shown as
   ``pending``), assembles only if that won, then moves it to ``completed`` (or back to ``pending`` when
   the parts do not make the file). Complete and cancel thus never run at once; the loser is a 400.
2. Whoever moves an upload out of ``pending`` drops its parts afterwards.
3. A part checks its upload again once its body is stored: if the upload is no longer pending, the
   part is dropped and refused (its upload's end, by rule 2, may have missed it).
4. An expired upload is moved to ``expired`` (rule 2 then drops its parts) whenever a request touches
   it, and each new upload sweeps a few of the oldest: uploads expire in the order they were created,
   so a cursor walks past those that ended and stops at the first still pending.
5. A ``completing`` upload an hour past its expiry is taken for abandoned (its worker died) and
   expires too. Should its worker still be assembling it, each part is opened once (read whole once
   open) and a part gone by then makes that ``complete`` answer that the upload expired (a 400, the
   file assembled so far discarded), never a 500.
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
from fakeai.errors import ApiError, bad_request
from fakeai.http.multipart import FormFile, read_form
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import new_id

PART_BYTES = 64 * 1024 * 1024
#: Parts one upload may hold. OpenAI documents only sizes (parts up to 64 MB, 8 GB in all: 128 full
#: parts); this bounds the rows of tiny or empty parts, which the storage quota does not.
MAX_PARTS = 10_000
UPLOAD_TTL_S = 3600
#: A ``completing`` upload this long past its expiry lost its worker mid-assembly: it expires too.
ABANDONED_S = UPLOAD_TTL_S
#: Uploads each new upload looks at in its sweep of expired ones (each reclaimed one drops its parts).
SWEEP_UPLOADS = 4
#: Unknown part ids an error names, each cut to ``SHOWN_ID_CHARS``.
SHOWN_IDS = 5
SHOWN_ID_CHARS = 64
COPY_BYTES = 1 << 20


class CreateUpload(msgspec.Struct):
    bytes: int
    filename: str
    mime_type: str
    purpose: str


class CompleteUpload(msgspec.Struct):
    part_ids: list[str]
    md5: str | None = None


def _expired(upload: Obj, now: float) -> bool:
    if upload["status"] == "pending":
        return upload["expires_at"] <= now
    return upload["status"] == "completing" and upload["expires_at"] + ABANDONED_S <= now


def _expire(store: Store, upload: Obj) -> bool:
    """Move an expired upload to ``expired`` and drop its parts; ``False`` when another request moved it
    first (blocking: on a worker thread)."""
    if not store.update("upload", {**upload, "status": "expired"}, expect=(upload["status"],)):
        return False
    _drop_parts(store, upload["id"])
    return True


def _settle(store: Store, upload_id: str) -> Obj:
    """The stored upload (a 404 when unknown), expired first if its time is up."""
    upload = fetch(store, "upload", upload_id, "upload")
    if _expired(upload, time.time()):
        _expire(store, upload)
        upload = fetch(store, "upload", upload_id, "upload")
    return upload


def _shown(upload: Obj) -> Obj:
    return {**upload, "status": "pending"} if upload["status"] == "completing" else upload


def _not_pending(upload_id: str, status: str) -> ApiError:
    state = "being completed" if status == "completing" else status
    return bad_request(f"Upload '{upload_id}' is {state}, not pending.", code="invalid_upload_state")


async def _pending(store: Store, upload_id: str) -> Obj:
    upload = await run_in_threadpool(_settle, store, upload_id)
    if upload["status"] != "pending":
        raise _not_pending(upload_id, upload["status"])
    return upload


class _Sweep:
    """Expires the oldest expired uploads, :data:`SWEEP_UPLOADS` looked at per call, from a cursor past
    the uploads that ended (one per worker process; the compare-and-set makes overlaps harmless)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.after: str | None = None

    def run(self) -> None:
        uploads, _ = self.store.page("upload", after=self.after, limit=SWEEP_UPLOADS, order="asc")
        now = time.time()
        for upload in uploads:
            if upload["status"] in ("pending", "completing") and not (
                _expired(upload, now) and _expire(self.store, upload)
            ):
                return  # still live (or just moved by a request): the ones after it are younger
            self.after = upload["id"]


def _admit(store: Store, upload_id: str, part_id: str) -> None:
    """Rule 3, and the part bound: drop the stored part and refuse it unless its upload is still pending
    and it is among the first :data:`MAX_PARTS` (blocking: reads up to that many rows)."""
    upload = store.get("upload", upload_id)
    error: ApiError | None = None
    if upload is None or upload["status"] != "pending" or _expired(upload, time.time()):
        error = _not_pending(upload_id, "expired" if upload is None else upload["status"])
    else:
        _, more = store.page("upload_part", tag=upload_id, after=part_id, limit=MAX_PARTS - 1)
        if more:
            error = bad_request(
                f"Upload '{upload_id}' already holds {MAX_PARTS} parts, the most an upload takes.",
                param="data",
                code="too_many_parts",
            )
    if error is not None:
        store.delete("upload_part", part_id)
        store.delete_blob(part_id)
        raise error


def _unknown_parts(upload_id: str, unknown: list[str]) -> ApiError:
    named = ", ".join(
        p if len(p) <= SHOWN_ID_CHARS else p[:SHOWN_ID_CHARS] + "..." for p in unknown[:SHOWN_IDS]
    )
    if len(unknown) > SHOWN_IDS:
        named += f" and {len(unknown) - SHOWN_IDS} more"
    return bad_request(f"Unknown part id(s) for upload '{upload_id}': {named}.", param="part_ids")


def _assemble(store: Store, upload_id: str, part_ids: list[str], md5: str | None, upload: FormFile) -> None:
    digest = hashlib.md5(usedforsecurity=False)
    for part_id in part_ids:
        part = store.open_blob(part_id)
        if part is None:  # rule 5: swept as abandoned meanwhile, its parts dropped
            current = store.get("upload", upload_id)
            raise _not_pending(upload_id, "expired" if current is None else current["status"])
        with part:
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
    sweep = _Sweep(store)

    async def create(request: Request) -> Response:
        req = await json_body(request, create_decoder, settings.max_body_bytes)
        check_purpose(req.purpose)
        if not 0 < req.bytes <= settings.max_file_bytes:
            raise bad_request(
                f"'bytes' must be from 1 to {settings.max_file_bytes} (--max-file-bytes), got {req.bytes}.",
                param="bytes",
            )
        await run_in_threadpool(sweep.run)
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
        try:
            store.insert("upload", upload, quota=settings.max_storage_bytes)
        except StorageFull as exc:
            raise quota_exceeded(exc, None) from None
        return json_response(upload)

    async def retrieve(request: Request) -> Response:
        upload = await run_in_threadpool(_settle, store, request.path_params["upload_id"])
        return json_response(_shown(upload))

    async def add_part(request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        await _pending(store, upload_id)
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
        await run_in_threadpool(_admit, store, upload_id, part["id"])
        return json_response(part)

    async def complete(request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        req = await json_body(request, complete_decoder, settings.max_body_bytes)
        upload = await _pending(store, upload_id)
        if not store.update("upload", {**upload, "status": "completing"}, expect=("pending",)):
            raise _not_pending(upload_id, fetch(store, "upload", upload_id, "upload")["status"])
        try:  # the upload is ours: no part comes or goes until it leaves "completing"
            file = await assemble_file(upload, req)
        except BaseException:
            store.update("upload", upload, expect=("completing",))  # pending again: fix and retry
            raise
        done = {**upload, "status": "completed", "file": file}
        if not store.update("upload", done, expect=("completing",)):  # an hour late: swept as abandoned
            store.delete("file", file["id"])
            store.delete_blob(file["id"])
            raise _not_pending(upload_id, "expired")
        await run_in_threadpool(_drop_parts, store, upload_id)
        return json_response(done)

    async def assemble_file(upload: Obj, req: CompleteUpload) -> Obj:
        upload_id = upload["id"]
        parts = {p["id"]: p for p in await run_in_threadpool(store.all, "upload_part", tag=upload_id)}
        unknown = [p for p in req.part_ids if p not in parts]
        if unknown:
            raise _unknown_parts(upload_id, unknown)
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
            await run_in_threadpool(_assemble, store, upload_id, req.part_ids, req.md5, assembled)
        except BaseException:
            store.discard_blob(assembled.writer)
            raise
        return await store_file(ctx, assembled, upload["purpose"], replaces=size)  # the parts go next

    async def cancel(request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        cancelled = {**await _pending(store, upload_id), "status": "cancelled"}
        if not store.update("upload", cancelled, expect=("pending",)):
            raise _not_pending(upload_id, fetch(store, "upload", upload_id, "upload")["status"])
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
