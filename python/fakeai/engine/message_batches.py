"""Running an Anthropic Message Batch in the background, as :mod:`fakeai.engine.batches` runs OpenAI's:
the same poller and leases (:mod:`fakeai.engine.background`), so whichever worker is free runs it and
another takes it over when its worker dies; the same timing (the requests answered in steps of
:data:`~fakeai.engine.batches.STEP_S` spread over ``--batch-duration``); each request answered by
:func:`fakeai.api.messages.message`, what ``POST /v1/messages`` answers with.

A batch is ``in_progress`` (or ``canceling``) until every request has a result, then ``ended``. Its
requests were stored at creation as a JSONL blob (``{"custom_id", "params"}`` a line), committed before
the batch is recorded and deleted only after the batch is: a worker that finds that blob gone took
over a batch that another worker then ended and the client deleted, and stops, as it does when it
finds the batch itself gone later on. The results are written to a private blob as they come and
committed whole when the batch ends, so they are never partial (a worker that takes a batch over
answers it again from the start). Each step reads
the batch's status: after a cancel the requests not answered yet are ``canceled``, past
``expires_at`` ``expired``.

``params`` are checked here, not at creation, as Anthropic checks them: one that is not a valid
Messages request (or asks to stream) is an ``errored`` result with Anthropic's error object. The
results count against ``--max-storage-bytes`` (checked each step against the room left, then in the
store when they are recorded); results that would not fit are dropped and every request is
``errored`` with an ``api_error`` saying so, so one batch never makes another client's upload fail.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any, BinaryIO

import msgspec
import orjson
from starlette.concurrency import run_in_threadpool

from fakeai.engine.background import Job, Lease, LeaseLost
from fakeai.engine.batches import STEP_S, YIELD_EVERY, OutputTooLarge
from fakeai.errors import ApiError, anthropic_error, bad_request, invalid_body
from fakeai.schemas.messages import MessagesRequest
from fakeai.store import Obj, StorageFull, Store

if TYPE_CHECKING:
    from fakeai.context import ServerContext

log = logging.getLogger("fakeai")

KIND = "message_batch"
#: The store objects that account for a batch's results blob (same id as the batch).
RESULTS_KIND = "message_batch_results"
RUNNABLE = ("in_progress", "canceling")


def requests_key(batch_id: str) -> str:
    """The blob of a batch's requests, one ``{"custom_id", "params"}`` a line."""
    return f"{batch_id}.requests"


def results_key(batch_id: str) -> str:
    """The blob of a batch's results, one ``{"custom_id", "result"}`` a line."""
    return f"{batch_id}.results"


class StoredRequest(msgspec.Struct):
    custom_id: str
    params: msgspec.Raw


def counts(processing: int = 0) -> dict[str, int]:
    return {"processing": processing, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}


def result_line(custom_id: str, result: bytes) -> bytes:
    return b'{"custom_id":' + orjson.dumps(custom_id) + b',"result":' + result + b"}\n"


def errored(e: ApiError) -> bytes:
    """An ``errored`` result: Anthropic's error response, as ``POST /v1/messages`` would answer ``e``."""
    _, body = anthropic_error(e)
    return orjson.dumps({"type": "errored", "error": {**body, "request_id": None}})


CANCELED = b'{"type":"canceled"}'
EXPIRED = b'{"type":"expired"}'


def read_requests(f: BinaryIO) -> list[StoredRequest]:
    """The requests of a batch's requests blob (open, closed here)."""
    decoder = msgspec.json.Decoder(StoredRequest)
    with f:
        return [decoder.decode(line) for line in f if line.strip()]


class MessageBatchRunner:
    def __init__(self, ctx: ServerContext) -> None:
        from fakeai.api import messages  # the endpoint's module imports the engine's

        self.ctx = ctx
        self.store: Store = ctx.store
        self.message = messages.message
        self.decoder = msgspec.json.Decoder(MessagesRequest)

    def job(self) -> Job:
        return Job(KIND, RUNNABLE, self.run)

    async def run(self, batch: Obj, lease: Lease) -> None:
        try:
            await self._run(batch, lease)
        except LeaseLost:
            raise
        except Exception:
            log.exception("message batch %s failed", batch["id"])
            raise

    def answer(self, params: msgspec.Raw) -> tuple[bytes, bool]:
        """``(result, succeeded)`` of one request's ``params``."""
        try:
            try:
                req = self.decoder.decode(params)
            except msgspec.DecodeError as exc:
                raise invalid_body(exc) from None
            if req.stream:
                raise bad_request("streaming is not supported in a Message Batch.", param="stream")
            payload = self.message(self.ctx, req).payload
        except ApiError as e:
            return errored(e), False
        assert isinstance(payload, bytes)  # not streamed: one body
        return b'{"type":"succeeded","message":' + payload + b"}", True

    def _room(self) -> int:
        return self.ctx.settings.max_storage_bytes - self.store.used_bytes()

    async def _run(self, batch: Obj, lease: Lease) -> None:
        store = self.store
        file = store.open_blob(requests_key(batch["id"]))
        if file is None:  # deleted with its batch (only an ended one can be: another worker ended it)
            return
        requests = await run_in_threadpool(read_requests, file)
        tally = counts()
        duration = self.ctx.settings.batch_duration_s
        steps = max(1, min(len(requests), math.ceil(duration / STEP_S)))
        per_step = math.ceil(len(requests) / steps) if requests else 0
        start = time.monotonic()
        out = store.blob_writer()
        try:
            written = 0
            stop: bytes | None = None  # what the requests not answered yet get: canceled or expired
            room = self._room()
            for step in range(steps):
                current = store.get(KIND, batch["id"])
                if current is None:
                    return  # deleted meanwhile (only an ended batch can be: another worker ended it)
                if current["status"] == "canceling":
                    stop = CANCELED
                elif current["expires_at"] <= time.time():
                    stop = EXPIRED
                if stop is not None:
                    break
                for i, req in enumerate(requests[step * per_step : (step + 1) * per_step], 1):
                    result, ok = self.answer(req.params)
                    line = result_line(req.custom_id, result)
                    written += len(line)
                    if written > room:
                        raise OutputTooLarge(f"{written} bytes of results, {max(room, 0)} bytes free")
                    out.write(line)
                    tally["succeeded" if ok else "errored"] += 1
                    if i % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                lease.renew()
                delay = start + duration * (step + 1) / steps - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                room = self._room()
            if stop is not None:
                done = tally["succeeded"] + tally["errored"]
                for req in requests[done:]:
                    out.write(result_line(req.custom_id, stop))
                tally["canceled" if stop is CANCELED else "expired"] = len(requests) - done
            await self._end(batch, lease, out, tally)
        except OutputTooLarge as exc:
            store.discard_blob(out)
            out = store.blob_writer()
            message = (
                f"The batch's results do not fit the storage quota (--max-storage-bytes): {exc}; "
                "they were dropped."
            )
            failed = errored(ApiError(500, message, type="server_error"))
            for req in requests:
                out.write(result_line(req.custom_id, failed))
            await self._end(batch, lease, out, {**counts(), "errored": len(requests)}, quota=False)
        finally:
            store.discard_blob(out)

    async def _end(
        self, batch: Obj, lease: Lease, out: Any, tally: dict[str, int], quota: bool = True
    ) -> None:
        """Record the results (their bytes counted against the quota) and end the batch."""
        store, batch_id = self.store, batch["id"]
        size = out.tell()
        lease.renew()
        await run_in_threadpool(store.commit_blob, out, results_key(batch_id))
        store.delete(RESULTS_KIND, batch_id)  # a worker that ran it before may have got this far
        try:
            limit = self.ctx.settings.max_storage_bytes if quota else None
            store.insert(RESULTS_KIND, {"id": batch_id}, size=size, quota=limit)
        except StorageFull as exc:
            store.delete_blob(results_key(batch_id))
            raise OutputTooLarge(str(exc)) from None
        current = store.get(KIND, batch_id) or batch
        ended = {**current, "status": "ended", "ended_at": time.time(), "request_counts": tally}
        if not store.update(KIND, ended, expect=RUNNABLE):
            store.delete(RESULTS_KIND, batch_id)
            store.delete_blob(results_key(batch_id))
