"""``/v1/vector_stores/{id}/files`` and ``/file_batches``: attach files to a vector store for indexing.

A ``vector_store.file`` is stored under the key ``<vector store id>/<file id>`` (a file may be in
several stores) and tagged with its store; its ``status`` moves ``in_progress -> completed | failed``
as a background worker indexes it, or to ``cancelled`` when its file batch is cancelled first. A file
batch's ``status`` and ``file_counts`` are computed from its files. A batch (or a new store's
``file_ids``) is checked and attached in a worker thread, a repeated file id once: the event loop
never waits for its hundreds of store writes. Lists read one page from the store (``filter`` is a
status the store filters on); a file batch's counts and files still read the store's files, in a worker
thread.

Every change to a stored file goes through :func:`fakeai.engine.vector_index.change` (compare-and-set
on its revision, retried), so an ``attributes`` update, a batch's cancel and the indexer's result never
undo one another. A vector store deleted while files are attached to it keeps none of them: its delete
removes the store first and its files after, and an attach checks the store again after inserting its
file, removing it when the store is gone (so whichever comes first, the file goes); what a crash between
the two left is swept by the next delete of a vector store (:meth:`~fakeai.store.Store.orphans`).

Each attached file's record costs its bytes against ``--max-storage-bytes`` (its ``attributes`` can be
8 KB): a batch (or a new store's ``file_ids``) is checked whole before anything is attached, so one
that does not fit is a 400 ``storage_quota_exceeded`` that attaches nothing; one that stops fitting
while it is attached (other clients writing meanwhile) removes what it attached, batch included.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import Meta
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import fetch, json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine import vector_index
from fakeai.engine.vector_index import KIND
from fakeai.errors import bad_request, not_found
from fakeai.http.blob import open_blob
from fakeai.store import Conflict, Obj, StorageFull, Store
from fakeai.store.objects import live_file, new_id

BATCH_KIND = "vector_store.file_batch"
STATUSES = ("in_progress", "completed", "failed", "cancelled")
Attributes = dict[str, str | int | float | bool]  # an integer stays one, as sent
#: OpenAI's limit of files in one file batch (``file_ids`` or ``files``).
MAX_BATCH_FILES = 2000
#: OpenAI's rules for ``attributes``: 16 pairs, keys up to 64 characters, string values up to 512.
MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_CHARS, MAX_ATTRIBUTE_VALUE_CHARS = 16, 64, 512


class AttachFile(msgspec.Struct):
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: Any = None


class UpdateFile(msgspec.Struct):
    attributes: Attributes | None


class BatchFile(msgspec.Struct):
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: Any = None


class CreateFileBatch(msgspec.Struct):
    file_ids: Annotated[list[str], Meta(max_length=MAX_BATCH_FILES)] | None = None
    files: Annotated[list[BatchFile], Meta(max_length=MAX_BATCH_FILES)] | None = None
    attributes: Attributes | None = None
    chunking_strategy: Any = None


def check_attributes(attributes: Attributes | None, param: str = "attributes") -> None:
    if attributes is None:
        return
    if len(attributes) > MAX_ATTRIBUTES:
        raise bad_request(f"'{param}' holds at most {MAX_ATTRIBUTES} key-value pairs.", param=param)
    for key, value in attributes.items():
        if (
            len(key) > MAX_ATTRIBUTE_KEY_CHARS
            or isinstance(value, str)
            and len(value) > MAX_ATTRIBUTE_VALUE_CHARS
        ):
            raise bad_request(
                f"'{param}' keys are at most {MAX_ATTRIBUTE_KEY_CHARS} characters and string values at most "
                f"{MAX_ATTRIBUTE_VALUE_CHARS}.",
                param=f"{param}.{key[:MAX_ATTRIBUTE_KEY_CHARS]}",
            )


def check_files(store: Store, file_ids: Iterable[str], param: str) -> None:
    """404 unless every file exists and has not expired (a store read each: run it off the loop)."""
    for file_id in file_ids:
        if live_file(store, file_id) is None:
            raise not_found("file", file_id, param=param)


Entry = tuple[str, Attributes | None, Obj]  # (file id, attributes, chunking strategy)


def attach_all(
    store: Store, vs_id: str, entries: Sequence[Entry], batch_id: str | None, quota: int | None = None
) -> None:
    """:func:`attach` each ``(file_id, attributes, strategy)`` (many store writes: run it off the loop).

    ``quota``: :class:`StorageFull` when the files' records do not fit it, checked before the first
    write; and when they stop fitting midway, after removing the ones attached here."""
    made = [
        _attachment(vs_id, file_id, strategy, attributes, batch_id)
        for file_id, attributes, strategy in entries
    ]
    if quota is not None:
        need, used = sum(len(orjson.dumps(vsf)) for vsf in made), store.used_bytes()
        if used + need > quota:
            raise StorageFull(f"{used} of {quota} bytes are in use; {need} more do not fit")
    done: list[Obj] = []
    try:
        for vsf in made:
            if _attach(store, vsf, quota) is None:
                return  # the store was deleted meanwhile
            done.append(vsf)
    except StorageFull:
        for vsf in done:
            current = store.get(KIND, vsf["id"])
            if current is not None and current.get(vector_index.ATTACHMENT) == vsf[vector_index.ATTACHMENT]:
                _remove(store, vsf["id"], vs_id)
        raise


def attach(
    store: Store,
    vs_id: str,
    file_id: str,
    strategy: Obj,
    attributes: Attributes | None,
    batch_id: str | None = None,
    quota: int | None = None,
) -> Obj | None:
    """Record ``file_id`` as ``in_progress`` in the vector store (the background indexer takes it from
    there), replacing an earlier attachment of it; None when the store was deleted meanwhile
    (:class:`StorageFull` past ``quota``)."""
    return _attach(store, _attachment(vs_id, file_id, strategy, attributes, batch_id), quota)


def _attachment(
    vs_id: str, file_id: str, strategy: Obj, attributes: Attributes | None, batch_id: str | None
) -> Obj:
    """The new ``vector_store.file`` record of ``file_id`` in the store."""
    return {
        "id": f"{vs_id}/{file_id}",
        "file_id": file_id,
        "batch_id": batch_id,
        "object": "vector_store.file",
        "created_at": int(time.time()),
        "vector_store_id": vs_id,
        "status": "in_progress",
        "last_error": None,
        "usage_bytes": 0,
        "attributes": attributes,
        "chunking_strategy": strategy,
        vector_index.ATTACHMENT: vector_index.token(),
        vector_index.REVISION: vector_index.token(),
    }


def _attach(store: Store, vsf: Obj, quota: int | None) -> Obj | None:
    """Store the new record ``vsf`` in place of any earlier attachment (see :func:`attach`)."""
    key, vs_id = vsf["id"], vsf["vector_store_id"]
    while True:
        _remove(store, key, vs_id)
        try:
            store.insert(KIND, vsf, tag=vs_id, quota=quota)
            break
        except Conflict:  # attached concurrently: replace that attachment in turn
            continue
    if store.get("vector_store", vs_id) is None:  # deleted meanwhile: its delete may have missed this file
        _remove(store, key)
        return None
    return vsf


def _remove(store: Store, key: str, vs_id: str | None = None) -> Obj | None:
    """Delete the stored file and its index; with ``vs_id``, take its index's bytes off that store."""
    old = store.delete(KIND, key)
    if old is not None:
        vector_index.drop_index(store, old)
        if vs_id is not None and old.get("usage_bytes"):
            vector_index.account(store, vs_id, -old["usage_bytes"], active=False)
    return old


def present(vsf: Obj) -> Obj:
    shown = {k: v for k, v in vsf.items() if k not in ("file_id", "batch_id", *vector_index.HIDDEN)}
    shown["id"] = vsf["file_id"]
    return shown


def detach_all(store: Store, vs_id: str) -> None:
    """Remove a deleted store's files and batches, then what a crash left of earlier deletes."""
    for vsf in store.all(KIND, tag=vs_id):
        _remove(store, vsf["id"])
    for batch in store.all(BATCH_KIND, tag=vs_id):
        store.delete(BATCH_KIND, batch["id"])
    for vsf in store.orphans(KIND, "vector_store"):
        _remove(store, vsf["id"])
    for batch in store.orphans(BATCH_KIND, "vector_store"):
        store.delete(BATCH_KIND, batch["id"])


def _batch_files(store: Store, batch: Obj) -> list[Obj]:
    """The batch's files (every file of its store is read: run it off the loop)."""
    return [f for f in store.all(KIND, tag=batch["vector_store_id"]) if f["batch_id"] == batch["id"]]


def _batch_view(store: Store, batch: Obj) -> Obj:
    counts = dict.fromkeys(("cancelled", "completed", "failed", "in_progress", "total"), 0)
    for vsf in _batch_files(store, batch):
        counts[vsf["status"]] += 1
        counts["total"] += 1
    status = "in_progress" if counts["in_progress"] else "cancelled" if batch["cancelled"] else "completed"
    shown = {k: v for k, v in batch.items() if k != "cancelled"}
    return {**shown, "status": status, "file_counts": counts}


def _cancel_batch(store: Store, batch: Obj) -> Obj:
    """Mark the batch cancelled and cancel its files still in progress; the batch as shown after."""

    def cancel(vsf: Obj) -> Obj | None:  # still this batch's (not attached again) and in progress
        ours = vsf["batch_id"] == batch["id"] and vsf["status"] == "in_progress"
        return {**vsf, "status": "cancelled"} if ours else None

    cancelled = {**batch, "cancelled": True}
    store.update(BATCH_KIND, cancelled)  # its one changing field: a stale write loses nothing
    for vsf in _batch_files(store, batch):
        if vsf["status"] == "in_progress":
            vector_index.change(store, KIND, vsf["id"], cancel)
    return _batch_view(store, cancelled)


def _file_page(request: Request, files: list[Obj]) -> Response:
    """A page of ``files`` (a batch's, read whole)."""
    limit, order, after = page_params(request)
    wanted = _status_filter(request)
    shown = [present(f) for f in files if wanted is None or f["status"] == wanted]
    if order == "desc":
        shown.reverse()
    if after is not None:
        ids = [f["id"] for f in shown]
        shown = shown[ids.index(after) + 1 :] if after in ids else []
    return list_response(shown[:limit], len(shown) > limit)


def _status_filter(request: Request) -> str | None:
    wanted = request.query_params.get("filter")
    if wanted is not None and wanted not in STATUSES:
        raise bad_request(f"'filter' must be one of {', '.join(STATUSES)}.", param="filter")
    return wanted


def _page_files(store: Store, vs_id: str, request: Request) -> Response:
    """One page of the store's files (filtered by status): only that page is read."""
    limit, order, after = page_params(request)
    wanted = _status_filter(request)
    cursor = None if after is None else f"{vs_id}/{after}"
    if cursor is not None and store.get(KIND, cursor) is None:
        return list_response([], False)  # no such file in the store (any more): nothing follows it
    files, more = store.page(KIND, tag=vs_id, after=cursor, limit=limit, order=order, status=wanted)
    return list_response([present(f) for f in files], more)


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_body_bytes
    attach_decoder = msgspec.json.Decoder(AttachFile)
    update_decoder = msgspec.json.Decoder(UpdateFile)
    batch_decoder = msgspec.json.Decoder(CreateFileBatch)

    def quota() -> int:  # the settings may change at run time
        return ctx.settings.max_storage_bytes

    def vector_store(request: Request) -> Obj:
        return fetch(store, "vector_store", request.path_params["vector_store_id"], "vector store")

    def vs_file(request: Request) -> Obj:
        vs_id, file_id = vector_store(request)["id"], request.path_params["file_id"]
        vsf = store.get(KIND, f"{vs_id}/{file_id}")
        if vsf is None:
            raise not_found("file", file_id)
        return vsf

    async def create(request: Request) -> Response:
        vs = vector_store(request)
        req = await json_body(request, attach_decoder, limit)
        check_attributes(req.attributes)
        strategy = vector_index.chunking(req.chunking_strategy)
        if live_file(store, req.file_id) is None:
            raise not_found("file", req.file_id, param="file_id")
        try:
            vsf = await run_in_threadpool(
                attach, store, vs["id"], req.file_id, strategy, req.attributes, None, quota()
            )
        except StorageFull as exc:
            raise quota_exceeded(exc, "file_id") from None
        if vsf is None:
            raise not_found("vector store", vs["id"])
        return json_response(present(vsf))

    async def list_files(request: Request) -> Response:
        vs_id = vector_store(request)["id"]
        return await run_in_threadpool(_page_files, store, vs_id, request)

    async def retrieve(request: Request) -> Response:
        return json_response(present(vs_file(request)))

    async def update(request: Request) -> Response:
        vsf = vs_file(request)
        req = await json_body(request, update_decoder, limit)
        check_attributes(req.attributes)

        def apply(current: Obj) -> Obj:
            return {**current, "attributes": req.attributes}

        try:
            changed = await run_in_threadpool(vector_index.change, store, KIND, vsf["id"], apply, quota())
        except StorageFull as exc:
            raise quota_exceeded(exc, "attributes") from None
        if changed is None:  # removed meanwhile
            raise not_found("file", vsf["file_id"])
        return json_response(present(changed))

    async def delete(request: Request) -> Response:
        vsf = vs_file(request)
        if await run_in_threadpool(_remove, store, vsf["id"], vsf["vector_store_id"]) is None:
            raise not_found("file", vsf["file_id"])  # removed meanwhile
        return json_response({"id": vsf["file_id"], "object": "vector_store.file.deleted", "deleted": True})

    async def content(request: Request) -> Response:
        vsf = vs_file(request)
        file = await open_blob(store, vsf["file_id"])
        if file is None:  # deleted meanwhile: once open, a delete no longer matters
            raise not_found("file", vsf["file_id"])
        with file:
            text = (await run_in_threadpool(file.read)).decode("utf-8", "replace")
        data = [{"type": "text", "text": text}]
        return json_response(
            {"object": "vector_store.file_content.page", "data": data, "has_more": False, "next_page": None}
        )

    async def create_batch(request: Request) -> Response:
        vs = vector_store(request)
        req = await json_body(request, batch_decoder, limit)
        if (req.file_ids is None) == (req.files is None):
            raise bad_request("Give exactly one of 'file_ids' and 'files'.", param="file_ids")
        check_attributes(req.attributes)
        strategy = vector_index.chunking(req.chunking_strategy)
        by_file: dict[str, Entry] = {}  # a repeated file id is attached once, as its last mention says
        if req.files is not None:
            for i, f in enumerate(req.files):
                check_attributes(f.attributes, f"files[{i}].attributes")
                chunks = vector_index.chunking(f.chunking_strategy) if f.chunking_strategy else strategy
                by_file[f.file_id] = (f.file_id, f.attributes, chunks)
        else:
            by_file = {file_id: (file_id, req.attributes, strategy) for file_id in req.file_ids or ()}
        if not by_file:
            raise bad_request("A file batch needs at least one file.", param="file_ids")
        entries = list(by_file.values())
        await run_in_threadpool(check_files, store, by_file, "files" if req.files is not None else "file_ids")
        batch = {
            "id": new_id("vsfb_"),
            "object": "vector_store.files_batch",
            "created_at": int(time.time()),
            "vector_store_id": vs["id"],
            "cancelled": False,
        }
        param = "files" if req.files is not None else "file_ids"
        try:
            store.insert(BATCH_KIND, batch, tag=vs["id"], quota=quota())
        except StorageFull as exc:
            raise quota_exceeded(exc, param) from None
        if store.get("vector_store", vs["id"]) is None:  # deleted meanwhile: it may have missed the batch
            store.delete(BATCH_KIND, batch["id"])
            raise not_found("vector store", vs["id"])
        try:
            await run_in_threadpool(attach_all, store, vs["id"], entries, batch["id"], quota())
        except StorageFull as exc:  # its files are gone already: the batch goes too
            store.delete(BATCH_KIND, batch["id"])
            raise quota_exceeded(exc, param) from None
        return json_response(await run_in_threadpool(_batch_view, store, batch))

    def file_batch(request: Request) -> Obj:
        vs = vector_store(request)
        batch = fetch(store, BATCH_KIND, request.path_params["batch_id"], "file batch")
        if batch["vector_store_id"] != vs["id"]:
            raise not_found("file batch", batch["id"])
        return batch

    async def retrieve_batch(request: Request) -> Response:
        return json_response(await run_in_threadpool(_batch_view, store, file_batch(request)))

    async def cancel_batch(request: Request) -> Response:
        batch = file_batch(request)
        view = await run_in_threadpool(_batch_view, store, batch)
        if view["status"] != "in_progress":
            raise bad_request(f"Cannot cancel a file batch with status '{view['status']}'.")
        return json_response(await run_in_threadpool(_cancel_batch, store, batch))

    async def batch_files(request: Request) -> Response:
        batch = file_batch(request)
        files = await run_in_threadpool(_batch_files, store, batch)
        return _file_page(request, files)

    base = "/v1/vector_stores/{vector_store_id}"
    return [
        Route(base + "/files", create, methods=["POST"]),
        Route(base + "/files", list_files, methods=["GET"]),
        Route(base + "/files/{file_id}", retrieve, methods=["GET"]),
        Route(base + "/files/{file_id}", update, methods=["POST"]),
        Route(base + "/files/{file_id}", delete, methods=["DELETE"]),
        Route(base + "/files/{file_id}/content", content, methods=["GET"]),
        Route(base + "/file_batches", create_batch, methods=["POST"]),
        Route(base + "/file_batches/{batch_id}", retrieve_batch, methods=["GET"]),
        Route(base + "/file_batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
        Route(base + "/file_batches/{batch_id}/files", batch_files, methods=["GET"]),
    ]
