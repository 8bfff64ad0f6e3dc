"""Anthropic's Message Batches: ``/v1/messages/batches`` create, list, retrieve, cancel, delete, results.

Creating a batch checks its shape (1 to 100,000 requests, each ``custom_id`` 1 to 64 of
``[A-Za-z0-9_-]`` and unique, each ``params`` an object; the body at most 256 MB and
``--max-body-bytes``, refused before it is decoded), stores the requests as a blob counted against
``--max-storage-bytes`` and answers the batch ``in_progress``; the background poller of whichever
worker is free runs it (:mod:`fakeai.engine.message_batches`), so every worker sees the same state.
Each request's ``params`` is checked when it runs, as Anthropic checks them: a bad one is an
``errored`` result.

The batch: ``{"id": "msgbatch_...", "type": "message_batch", "processing_status"`` (``in_progress``,
``canceling``, ``ended``), ``request_counts`` (all ``processing`` until the batch ends), RFC 3339
``created_at``, ``expires_at`` (24 h later), ``ended_at``, ``cancel_initiated_at``, ``archived_at``,
and once ended ``results_url``, where ``GET`` answers the results as JSONL (``{"custom_id",
"result"}`` a line, ``result`` one of ``succeeded`` with the ``message``, ``errored`` with the
``error``, ``canceled``, ``expired``). The list is newest first, Anthropic's page (``limit`` 1 to
1000, default 20; ``before_id`` / ``after_id``). Cancel moves an ``in_progress`` batch to
``canceling`` (the requests not answered yet end ``canceled``); only an ended batch can be deleted.
Every error is in Anthropic's envelope; the ``anthropic-version`` header is required, as on
``/v1/messages``. ``client.beta.messages.batches`` calls the same paths with ``?beta=true``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.resources import (
    AnthropicPage,
    anthropic_list_response,
    anthropic_page_params,
    json_response,
    rfc3339,
)
from fakeai.context import ServerContext
from fakeai.engine.message_batches import (
    KIND,
    RESULTS_KIND,
    counts,
    requests_key,
    results_key,
)
from fakeai.errors import ApiError, anthropic_response, bad_request, invalid_body
from fakeai.http.asgi import read_body
from fakeai.http.blob import OpenFileResponse, open_blob
from fakeai.schemas.common import check_json_shape
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import new_id

#: Anthropic's bounds of one batch.
MAX_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
EXPIRES_S = 24 * 3600
CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BatchRequest(msgspec.Struct):
    custom_id: str
    params: msgspec.Raw


class CreateBatch(msgspec.Struct):
    # the count is checked after decoding; the body's size (a request takes at least 29 bytes)
    # bounds what decoding holds meanwhile
    requests: Annotated[list[BatchRequest], msgspec.Meta(min_length=1, max_length=MAX_REQUESTS)]


def _anthropic_version(request: Request) -> None:
    if "anthropic-version" not in request.headers:
        raise bad_request("anthropic-version: header is required")


def not_found(batch_id: str) -> ApiError:
    return ApiError(404, f"message_batch_id: no Message Batch with id '{batch_id}'.")


def present(batch: Obj, base_url: str) -> Obj:
    """The batch as Anthropic shows it (``base_url``: the server's, for ``results_url``)."""
    ended = batch["status"] == "ended"
    return {
        "id": batch["id"],
        "type": "message_batch",
        "processing_status": batch["status"],
        "request_counts": batch["request_counts"],
        "created_at": rfc3339(batch["created_at"]),
        "expires_at": rfc3339(batch["expires_at"]),
        "ended_at": rfc3339(batch["ended_at"]),
        "cancel_initiated_at": rfc3339(batch["cancel_initiated_at"]),
        "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{batch['id']}/results" if ended else None,
    }


def _requests_jsonl(requests: list[BatchRequest]) -> bytes:
    encode = msgspec.json.encode
    return b"".join(encode(r) + b"\n" for r in requests)


def _page(store: Store, page: AnthropicPage) -> tuple[list[Obj], bool]:
    cursor = page.before_id or page.after_id
    if cursor is not None and store.get(KIND, cursor) is None:
        param = "before_id" if page.before_id else "after_id"
        raise bad_request(f"no Message Batch with id '{cursor}' to page from.", param=param)
    if page.before_id is not None:  # the newer ones just before it in the list, newest first
        data, more = store.page(KIND, after=page.before_id, limit=page.limit, order="asc")
        return data[::-1], more
    return store.page(KIND, after=page.after_id, limit=page.limit, order="desc")


Handler = Callable[[Request], Awaitable[Response]]


def anthropic(handler: Handler) -> Handler:
    """``handler`` with the ``anthropic-version`` header required and errors in Anthropic's envelope."""

    async def answer(request: Request) -> Response:
        try:
            _anthropic_version(request)
            return await handler(request)
        except ApiError as e:
            return anthropic_response(e)

    return answer


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    decoder = msgspec.json.Decoder(CreateBatch)
    limit = min(ctx.settings.max_body_bytes, MAX_BATCH_BYTES)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def fetch(batch_id: str) -> Obj:
        batch = store.get(KIND, batch_id)
        if batch is None:
            raise not_found(batch_id)
        return batch

    async def create(request: Request) -> Response:
        body = await read_body(request.receive, limit)
        check_json_shape(body)
        try:
            req = decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise invalid_body(exc) from None
        seen: set[str] = set()
        for i, r in enumerate(req.requests):
            if not CUSTOM_ID.fullmatch(r.custom_id):
                raise bad_request(
                    "must be 1 to 64 letters, digits, '_' or '-'.", param=f"requests[{i}].custom_id"
                )
            if r.custom_id in seen:
                raise bad_request(
                    f"custom_id '{r.custom_id}' is used by more than one request; each must be unique.",
                    param=f"requests[{i}].custom_id",
                )
            seen.add(r.custom_id)
            if not bytes(r.params).startswith(b"{"):
                raise bad_request("Input should be an object.", param=f"requests[{i}].params")
        now = time.time()
        batch_id = new_id("msgbatch_")
        batch: Obj = {
            "id": batch_id,
            "status": "in_progress",
            "request_counts": counts(len(req.requests)),
            "created_at": now,
            "expires_at": now + EXPIRES_S,
            "ended_at": None,
            "cancel_initiated_at": None,
        }
        lines = await run_in_threadpool(_requests_jsonl, req.requests)
        writer = store.blob_writer()
        try:
            await run_in_threadpool(writer.write, lines)
            await run_in_threadpool(store.commit_blob, writer, requests_key(batch_id))
        finally:
            store.discard_blob(writer)
        try:
            store.insert(KIND, batch, size=len(lines), quota=ctx.settings.max_storage_bytes)
        except StorageFull as exc:
            store.delete_blob(requests_key(batch_id))
            raise bad_request(
                f"The batch does not fit the storage quota (--max-storage-bytes): {exc}."
            ) from None
        return json_response(present(batch, base(request)))

    async def list_batches(request: Request) -> Response:
        data, has_more = _page(store, anthropic_page_params(request))
        return anthropic_list_response([present(b, base(request)) for b in data], has_more)

    async def retrieve(request: Request) -> Response:
        return json_response(present(fetch(request.path_params["message_batch_id"]), base(request)))

    async def cancel(request: Request) -> Response:
        batch_id = request.path_params["message_batch_id"]
        while True:
            batch = fetch(batch_id)
            if batch["status"] == "canceling":
                return json_response(present(batch, base(request)))
            if batch["status"] != "in_progress":
                raise bad_request(f"Message Batch '{batch_id}' has ended; it cannot be canceled.")
            canceling = {**batch, "status": "canceling", "cancel_initiated_at": time.time()}
            if store.update(KIND, canceling, expect=("in_progress",)):
                return json_response(present(canceling, base(request)))

    async def delete(request: Request) -> Response:
        batch_id = request.path_params["message_batch_id"]
        batch = fetch(batch_id)
        if batch["status"] != "ended":
            raise bad_request(
                f"Message Batch '{batch_id}' is still processing; cancel it, and delete it once it has ended."
            )
        if store.delete(KIND, batch_id) is None:
            raise not_found(batch_id)
        store.delete(RESULTS_KIND, batch_id)
        store.delete_blob(results_key(batch_id))
        store.delete_blob(requests_key(batch_id))
        return json_response({"id": batch_id, "type": "message_batch_deleted"})

    async def results(request: Request) -> Response:
        batch_id = request.path_params["message_batch_id"]
        batch = fetch(batch_id)
        if batch["status"] != "ended":
            raise bad_request(f"Message Batch '{batch_id}' has not ended yet; its results are not ready.")
        # opened here, so a delete by another worker from now on does not matter; before, it is a 404
        file = await open_blob(store, results_key(batch_id))
        if file is None:  # deleted meanwhile
            raise not_found(batch_id)
        return OpenFileResponse(file, media_type="application/x-jsonl")

    return [
        Route("/v1/messages/batches", anthropic(create), methods=["POST"]),
        Route("/v1/messages/batches", anthropic(list_batches), methods=["GET"]),
        Route("/v1/messages/batches/{message_batch_id}", anthropic(retrieve), methods=["GET"]),
        Route("/v1/messages/batches/{message_batch_id}", anthropic(delete), methods=["DELETE"]),
        Route("/v1/messages/batches/{message_batch_id}/cancel", anthropic(cancel), methods=["POST"]),
        Route("/v1/messages/batches/{message_batch_id}/results", anthropic(results), methods=["GET"]),
    ]
