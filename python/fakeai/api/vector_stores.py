"""``/v1/vector_stores``: create, list, retrieve, modify, delete, and ``search``.

``file_counts``, ``status`` and ``usage_bytes`` are computed from the store's files when read, so they
are exact whichever worker indexed what (see :mod:`fakeai.engine.vector_index`).
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

from fakeai.api.resources import fetch, json_body, json_response, page
from fakeai.api.vector_store_files import attach_all, check_files, detach_all
from fakeai.context import ServerContext
from fakeai.engine import vector_index
from fakeai.errors import bad_request
from fakeai.schemas.common import check_metadata
from fakeai.store import Obj, Store
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
    """The vector store as the API shows it, with counts and status from its files."""
    counts = {"cancelled": 0, "completed": 0, "failed": 0, "in_progress": 0, "total": 0}
    usage = 0
    for vsf in store.all(vector_index.KIND, tag=vs["id"]):
        counts[vsf["status"]] += 1
        counts["total"] += 1
        usage += vsf["usage_bytes"]
    expires_at = None
    if vs["expires_after"] is not None:
        expires_at = vs["last_active_at"] + vs["expires_after"]["days"] * DAY_S
    status = "in_progress" if counts["in_progress"] else "completed"
    if expires_at is not None and expires_at <= time.time():
        status = "expired"
    return {**vs, "file_counts": counts, "usage_bytes": usage, "status": status, "expires_at": expires_at}


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
        }
        store.insert("vector_store", vs)
        entries = [(file_id, None, strategy) for file_id in file_ids]
        await run_in_threadpool(attach_all, store, vs["id"], entries, None)
        return json_response(present(store, vs))

    async def list_stores(request: Request) -> Response:
        return page(request, store, "vector_store", present=lambda vs: present(store, vs))

    async def retrieve(request: Request) -> Response:
        return json_response(present(store, get(request)))

    async def modify(request: Request) -> Response:
        vs = get(request)
        req = await json_body(request, modify_decoder, limit)
        check_metadata(req.metadata)
        changed = dict(vs)
        if req.name is not None:
            changed["name"] = req.name
        if req.metadata is not None:
            changed["metadata"] = req.metadata
        if req.expires_after is not None:
            changed["expires_after"] = _expiry(req.expires_after)
        store.update("vector_store", changed)
        return json_response(present(store, changed))

    async def delete(request: Request) -> Response:
        vs = get(request)
        await run_in_threadpool(detach_all, store, vs["id"])
        store.delete("vector_store", vs["id"])
        return json_response({"id": vs["id"], "object": "vector_store.deleted", "deleted": True})

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
        store.update("vector_store", {**vs, "last_active_at": int(time.time())})
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
