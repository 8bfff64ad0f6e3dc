"""``/v1/vector_stores``: create, list, retrieve, modify, delete, and ``search``.

``file_counts`` and ``status`` are counted from the store's files by status when read (one indexed
query, whatever the number of files), so they are exact whichever worker indexed what; ``usage_bytes``
is kept on the store as its files complete or go (see :mod:`fakeai.engine.vector_index`). A modify,
a search's and the indexer's ``last_active_at`` each change only their own fields, compare-and-set
(:func:`fakeai.engine.vector_index.change`): concurrent writers lose nothing. A delete removes the
store first, then its files (see :mod:`fakeai.api.vector_store_files` for why none survive it).

A store and its files' records count against ``--max-storage-bytes`` (their bytes of JSON): a create
or modify that does not fit is a 400 ``storage_quota_exceeded`` that leaves nothing (a create whose
``file_ids`` do not fit removes the store again).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import fetch, json_body, json_response, page
from fakeai.api.vector_store_files import attach_all, check_files, detach_all
from fakeai.context import ServerContext
from fakeai.engine import vector_index
from fakeai.errors import bad_request, not_found
from fakeai.schemas.common import check_metadata
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import new_id

DAY_S = 86400
#: OpenAI documents no length for a store's name or description; these keep stored text bounded.
Name = Annotated[str, Meta(max_length=256)]
Description = Annotated[str, Meta(max_length=512)]
#: OpenAI's OpenAPI spec: at most 500 ``file_ids`` when creating a store (more go in file batches).
FileIds = Annotated[list[str], Meta(max_length=500)]


class ExpiresAfter(msgspec.Struct):
    anchor: str
    days: int


class CreateVectorStore(msgspec.Struct):
    name: Name | None = None
    file_ids: FileIds | None = None
    chunking_strategy: Any = None
    expires_after: ExpiresAfter | None = None
    metadata: dict[str, str] | None = None
    description: Description | None = None


class ModifyVectorStore(msgspec.Struct):
    name: Name | None = None
    expires_after: ExpiresAfter | None = None
    metadata: dict[str, str] | None = None


#: A search's query text (each is embedded once per searched file): bounded, as OpenAI bounds inputs.
Query = Annotated[str, Meta(max_length=4096)]


class Search(msgspec.Struct):
    query: Query | Annotated[list[Query], Meta(max_length=16)]
    max_num_results: int = 10
    filters: Any = None
    ranking_options: dict[str, Any] | None = None
    rewrite_query: bool = False


def _expiry(expires_after: ExpiresAfter | None) -> Obj | None:
    if expires_after is None:
        return None
    if expires_after.anchor != "last_active_at" or not 1 <= expires_after.days <= 365:
        raise bad_request(
            "'expires_after' must be {'anchor': 'last_active_at', 'days': 1..365}.", param="expires_after"
        )
    return {"anchor": "last_active_at", "days": expires_after.days}


def present(store: Store, vs: Obj) -> Obj:
    """The vector store as the API shows it, with counts and status from its files (store reads: run
    it off the loop)."""
    by_status = store.count_by_status(vector_index.KIND, tag=vs["id"])
    counts = {s: by_status.get(s, 0) for s in ("cancelled", "completed", "failed", "in_progress")}
    counts["total"] = sum(by_status.values())
    expires_at = None
    if vs["expires_after"] is not None:
        expires_at = vs["last_active_at"] + vs["expires_after"]["days"] * DAY_S
    status = "in_progress" if counts["in_progress"] else "completed"
    if expires_at is not None and expires_at <= time.time():
        status = "expired"
    shown = {k: v for k, v in vs.items() if k not in vector_index.HIDDEN}
    return {
        **shown,
        "file_counts": counts,
        "usage_bytes": vector_index.usage(store, vs),
        "status": status,
        "expires_at": expires_at,
    }


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_body_bytes
    create_decoder = msgspec.json.Decoder(CreateVectorStore)
    modify_decoder = msgspec.json.Decoder(ModifyVectorStore)
    search_decoder = msgspec.json.Decoder(Search)

    def get(request: Request) -> Obj:
        return fetch(store, "vector_store", request.path_params["vector_store_id"], "vector store")

    async def create(request: Request) -> Response:
        req = await json_body(request, create_decoder, limit)
        check_metadata(req.metadata)
        strategy = vector_index.chunking(req.chunking_strategy)
        file_ids = list(dict.fromkeys(req.file_ids or ()))
        await run_in_threadpool(check_files, store, file_ids, "file_ids")
        now = int(time.time())
        vs: Obj = {
            "id": new_id("vs_"),
            "object": "vector_store",
            "created_at": now,
            "name": req.name or "",
            "description": req.description,
            "metadata": req.metadata,
            "last_active_at": now,
            "expires_after": _expiry(req.expires_after),
            "usage_bytes": 0,
            vector_index.REVISION: vector_index.token(),
        }
        quota = ctx.settings.max_storage_bytes
        try:
            store.insert("vector_store", vs, quota=quota)
        except StorageFull as exc:
            raise quota_exceeded(exc, None) from None
        entries = [(file_id, None, strategy) for file_id in file_ids]
        try:
            await run_in_threadpool(attach_all, store, vs["id"], entries, None, quota)
        except StorageFull as exc:  # its files are gone already: the store goes too
            store.delete("vector_store", vs["id"])
            await run_in_threadpool(detach_all, store, vs["id"])
            raise quota_exceeded(exc, "file_ids") from None
        return json_response(await run_in_threadpool(present, store, vs))

    async def list_stores(request: Request) -> Response:
        return await run_in_threadpool(
            page, request, store, "vector_store", present=lambda vs: present(store, vs)
        )

    async def retrieve(request: Request) -> Response:
        return json_response(await run_in_threadpool(present, store, get(request)))

    async def modify(request: Request) -> Response:
        vs = get(request)
        req = await json_body(request, modify_decoder, limit)
        check_metadata(req.metadata)
        fields: Obj = {}
        if req.name is not None:
            fields["name"] = req.name
        if req.metadata is not None:
            fields["metadata"] = req.metadata
        if req.expires_after is not None:
            fields["expires_after"] = _expiry(req.expires_after)

        def apply(current: Obj) -> Obj:
            return {**current, **fields}

        quota = ctx.settings.max_storage_bytes
        try:
            changed = await run_in_threadpool(
                vector_index.change, store, "vector_store", vs["id"], apply, quota
            )
        except StorageFull as exc:
            raise quota_exceeded(exc, None) from None
        if changed is None:  # deleted meanwhile
            raise not_found("vector store", vs["id"])
        return json_response(await run_in_threadpool(present, store, changed))

    async def delete(request: Request) -> Response:
        vs_id = request.path_params["vector_store_id"]
        if store.delete("vector_store", vs_id) is None:
            raise not_found("vector store", vs_id)
        await run_in_threadpool(detach_all, store, vs_id)  # after the store: see vector_store_files
        return json_response({"id": vs_id, "object": "vector_store.deleted", "deleted": True})

    async def search(request: Request) -> Response:
        vs = get(request)
        req = await json_body(request, search_decoder, limit)
        queries = [req.query] if isinstance(req.query, str) else req.query
        if not queries or not all(q.strip() for q in queries):
            raise bad_request("'query' must be a non-empty string or list of strings.", param="query")
        if not 1 <= req.max_num_results <= 50:
            raise bad_request("'max_num_results' must be from 1 to 50.", param="max_num_results")
        threshold = (req.ranking_options or {}).get("score_threshold", 0.0)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise bad_request(
                "'score_threshold' must be from 0 to 1.", param="ranking_options.score_threshold"
            )
        results = await run_in_threadpool(
            vector_index.search, store, vs["id"], queries, req.max_num_results, req.filters, float(threshold)
        )
        await run_in_threadpool(vector_index.account, store, vs["id"])  # last_active_at only
        return json_response(
            {
                "object": "vector_store.search_results.page",
                "search_query": queries,
                "data": results,
                "has_more": False,
                "next_page": None,
            }
        )

    base = "/v1/vector_stores/{vector_store_id}"
    return [
        Route("/v1/vector_stores", create, methods=["POST"]),
        Route("/v1/vector_stores", list_stores, methods=["GET"]),
        Route(base, retrieve, methods=["GET"]),
        Route(base, modify, methods=["POST"]),
        Route(base, delete, methods=["DELETE"]),
        Route(base + "/search", search, methods=["POST"]),
    ]
