"""``/v1/batches``: create from a ``batch`` file, list, retrieve, cancel.

Creating a batch only records it (``validating``); the background poller of whichever worker is free
runs it (see :mod:`fakeai.engine.batches`). An input file past its ``expires_after`` is as unknown as
a deleted one. ``output_expires_after`` (``created_at`` + 3600 to 2592000 s, as OpenAI allows) sets
the ``expires_at`` of the batch's output and error files. A batch that does not fit
``--max-storage-bytes`` (its ``metadata`` counts) is a 400 ``storage_quota_exceeded``.
"""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import fetch, json_body, json_response, page
from fakeai.context import ServerContext
from fakeai.engine.batches import OUTPUT_EXPIRES
from fakeai.errors import bad_request, not_found
from fakeai.schemas.common import check_metadata
from fakeai.schemas.files import BATCH_ENDPOINTS
from fakeai.store import Obj, StorageFull
from fakeai.store.objects import live_file, new_id

COMPLETION_WINDOW_S = 24 * 3600
CANCELLABLE = ("validating", "in_progress")
MIN_OUTPUT_EXPIRY_S = 3600
MAX_OUTPUT_EXPIRY_S = 30 * 24 * 3600


class CreateBatch(msgspec.Struct):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None
    output_expires_after: dict[str, object] | None = None


def output_expiry(after: dict[str, object] | None) -> int | None:
    """The seconds of a checked ``output_expires_after`` (``{"anchor": "created_at", "seconds": n}``)."""
    if after is None:
        return None
    unknown = sorted(set(after) - {"anchor", "seconds"})
    if unknown:
        param = f"output_expires_after.{unknown[0]}"
        raise bad_request(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")
    if after.get("anchor") != "created_at":
        raise bad_request(
            "'output_expires_after.anchor' must be 'created_at'.", param="output_expires_after.anchor"
        )
    seconds = after.get("seconds")
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not MIN_OUTPUT_EXPIRY_S <= seconds <= MAX_OUTPUT_EXPIRY_S
    ):
        raise bad_request(
            f"'output_expires_after.seconds' must be an integer from {MIN_OUTPUT_EXPIRY_S} to "
            f"{MAX_OUTPUT_EXPIRY_S}.",
            param="output_expires_after.seconds",
        )
    return seconds


def present(batch: Obj) -> Obj:
    """The batch as clients see it: without what only the runner keeps."""
    return {k: v for k, v in batch.items() if not k.startswith("_")}


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
        lifetime = output_expiry(req.output_expires_after)
        file = live_file(store, req.input_file_id)
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
        if lifetime is not None:
            batch[OUTPUT_EXPIRES] = lifetime
        try:
            store.insert("batch", batch, quota=ctx.settings.max_storage_bytes)
        except StorageFull as exc:
            raise quota_exceeded(exc, None) from None
        return json_response(present(batch))

    async def list_batches(request: Request) -> Response:
        return page(request, store, "batch", present=present)

    async def retrieve(request: Request) -> Response:
        return json_response(present(fetch(store, "batch", request.path_params["batch_id"], "batch")))

    async def cancel(request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        while True:
            batch = fetch(store, "batch", batch_id, "batch")
            if batch["status"] == "cancelling":
                return json_response(present(batch))
            if batch["status"] not in CANCELLABLE:
                raise bad_request(
                    f"Cannot cancel a batch with status '{batch['status']}'.", code="batch_not_cancellable"
                )
            cancelling = {**batch, "status": "cancelling", "cancelling_at": int(time.time())}
            if store.update("batch", cancelling, expect=(batch["status"],)):
                return json_response(present(cancelling))

    return [
        Route("/v1/batches", create, methods=["POST"]),
        Route("/v1/batches", list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", retrieve, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", cancel, methods=["POST"]),
    ]
