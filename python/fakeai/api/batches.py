"""``/v1/batches``: create from a ``batch`` file, list, retrieve, cancel.

Creating a batch only records it (``validating``); the background poller of whichever worker is free
runs it (see :mod:`fakeai.engine.batches`).
"""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.resources import fetch, json_body, json_response, page
from fakeai.context import ServerContext
from fakeai.errors import bad_request, not_found
from fakeai.schemas.common import check_metadata
from fakeai.schemas.files import BATCH_ENDPOINTS
from fakeai.store.objects import new_id

COMPLETION_WINDOW_S = 24 * 3600
CANCELLABLE = ("validating", "in_progress")


class CreateBatch(msgspec.Struct):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None
    output_expires_after: dict[str, object] | None = None


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    decoder = msgspec.json.Decoder(CreateBatch)
    limit = ctx.settings.max_body_bytes

    async def create(request: Request) -> Response:
        req = await json_body(request, decoder, limit)
        if req.endpoint not in BATCH_ENDPOINTS:
            raise bad_request(
                f"'endpoint' must be one of {', '.join(BATCH_ENDPOINTS)}, got '{req.endpoint}'.",
                param="endpoint",
            )
        if req.completion_window != "24h":
            raise bad_request("'completion_window' must be '24h'.", param="completion_window")
        check_metadata(req.metadata)
        file = store.get("file", req.input_file_id)
        if file is None:
            raise not_found("file", req.input_file_id, param="input_file_id")
        if file["purpose"] != "batch":
            raise bad_request(
                f"File '{req.input_file_id}' has purpose '{file['purpose']}'; a batch needs purpose 'batch'.",
                param="input_file_id",
            )
        now = int(time.time())
        batch = {
            "id": new_id("batch_"),
            "object": "batch",
            "endpoint": req.endpoint,
            "model": None,
            "errors": None,
            "input_file_id": req.input_file_id,
            "completion_window": req.completion_window,
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + COMPLETION_WINDOW_S,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": None,
            "metadata": req.metadata,
        }
        store.insert("batch", batch)
        return json_response(batch)

    async def list_batches(request: Request) -> Response:
        return page(request, store, "batch")

    async def retrieve(request: Request) -> Response:
        return json_response(fetch(store, "batch", request.path_params["batch_id"], "batch"))

    async def cancel(request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        while True:
            batch = fetch(store, "batch", batch_id, "batch")
            if batch["status"] == "cancelling":
                return json_response(batch)
            if batch["status"] not in CANCELLABLE:
                raise bad_request(
                    f"Cannot cancel a batch with status '{batch['status']}'.", code="batch_not_cancellable"
                )
            cancelling = {**batch, "status": "cancelling", "cancelling_at": int(time.time())}
            if store.update("batch", cancelling, expect=(batch["status"],)):
                return json_response(cancelling)

    return [
        Route("/v1/batches", create, methods=["POST"]),
        Route("/v1/batches", list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", retrieve, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", cancel, methods=["POST"]),
    ]
