"""Running a batch in the background, through the same engine functions as the live endpoints.

``validating``: the input file is read and every line checked against the batch's endpoint (a bad
line fails the batch with line-numbered ``errors``, the first :data:`MAX_ERRORS` of them; reading
stops there; a file deleted or expired fails it with ``invalid_file`` naming the file, also when
another worker deletes it after the lookup: it is opened once and read from that descriptor).
``in_progress``: the requests are answered in steps spread over the simulated duration
(``--batch-duration``), each step saving ``request_counts`` with a compare-and-set that notices a
cancel. ``finalizing``: output and error files are stored (``batch_output``), then ``completed``. A
cancel during the run stores what was done and ends ``cancelled``; a batch past ``expires_at`` ends
``expired``. A worker that loses its lease stops; the worker that takes the batch over answers it
again from the start, so the output is never partial.

The output and error files count against ``--max-storage-bytes`` like uploads. The bytes written are
checked against the room left after every answer (the room re-read each step, as other clients store
files meanwhile), and the files are recorded with the quota checked in the store: a batch whose
output would not fit ends ``failed`` (``storage_quota_exceeded``) with its partial output discarded,
so one client's batch never makes another's upload fail. Each line is answered as the live endpoint
would, so ``--max-generated-tokens`` bounds one answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

import msgspec
import orjson
from starlette.concurrency import run_in_threadpool

from fakeai.engine import render, responder
from fakeai.engine.background import Job, Lease, LeaseLost
from fakeai.errors import ApiError, bad_request, invalid_body
from fakeai.schemas.chat import ChatRequest
from fakeai.schemas.completions import CompletionRequest
from fakeai.schemas.embeddings import EmbeddingRequest
from fakeai.schemas.files import BatchLine, HasModel
from fakeai.schemas.responses import ResponseRequest
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import file_object, live_file, new_id

if TYPE_CHECKING:
    from fakeai.context import ServerContext

log = logging.getLogger("fakeai")

#: Seconds between progress saves (the simulated duration is split into steps this long).
STEP_S = 0.25
#: Requests answered between yields to the event loop, so live requests on this worker keep flowing.
YIELD_EVERY = 128
RUNNABLE = ("validating", "in_progress", "finalizing", "cancelling")
#: ``errors`` entries a failed batch keeps (OpenAI reports one per bad line; past this many, reading
#: stops), so one bad input file cannot make each batch object, and each list page, megabytes.
MAX_ERRORS = 100
#: The batch's ``output_expires_after.seconds`` (kept on the batch, not shown): its files expire then.
OUTPUT_EXPIRES = "_output_expires_s"

#: ``(status, body, prompt_tokens, completion_tokens)`` of one request.
Answer = tuple[int, bytes, int, int]


def _handlers(ctx: ServerContext) -> dict[str, Callable[[msgspec.Raw], Answer]]:
    chat_decoder = msgspec.json.Decoder(ChatRequest)
    completion_decoder = msgspec.json.Decoder(CompletionRequest)
    embedding_decoder = msgspec.json.Decoder(EmbeddingRequest)
    response_decoder = msgspec.json.Decoder(ResponseRequest)

    def decode(decoder: msgspec.json.Decoder[Any], body: msgspec.Raw) -> Any:
        try:
            req = decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise invalid_body(exc) from None
        if getattr(req, "stream", False):
            raise bad_request("Streaming is not supported in batches.", param="stream")
        return req

    def chat_answer(body: msgspec.Raw) -> Answer:
        answer = render.chat(ctx, decode(chat_decoder, body))
        return 200, answer.payload, answer.prompt_tokens, answer.completion_tokens  # type: ignore[return-value]

    def completion_answer(body: msgspec.Raw) -> Answer:
        answer = render.completion(ctx, decode(completion_decoder, body))
        return 200, answer.payload, answer.prompt_tokens, answer.completion_tokens  # type: ignore[return-value]

    def embedding_answer(body: msgspec.Raw) -> Answer:
        payload, prompt, _ = render.embeddings(ctx, decode(embedding_decoder, body))
        return 200, payload, prompt, 0

    def response_answer(body: msgspec.Raw) -> Answer:
        done = responder.generate(ctx, decode(response_decoder, body), time.time())[1]
        return 200, orjson.dumps(done), done["usage"]["input_tokens"], done["usage"]["output_tokens"]

    return {
        "/v1/responses": response_answer,
        "/v1/chat/completions": chat_answer,
        "/v1/completions": completion_answer,
        "/v1/embeddings": embedding_answer,
    }


def output_line(custom_id: str, status: int, body: bytes) -> bytes:
    """One line of a batch output or error file, in OpenAI's format."""
    return b"".join(
        (
            b'{"id":"batch_req_',
            secrets.token_hex(12).encode(),
            b'","custom_id":',
            orjson.dumps(custom_id),
            b',"response":{"status_code":',
            str(status).encode(),
            b',"request_id":"',
            secrets.token_hex(16).encode(),
            b'","body":',
            body,
            b'},"error":null}\n',
        )
    )


def usage(input_tokens: int = 0, output_tokens: int = 0) -> Obj:
    """A batch's ``usage``: the tokens of the requests it answered."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


_line = msgspec.json.Decoder(BatchLine)
_model = msgspec.json.Decoder(HasModel)


def read_requests(f: BinaryIO, endpoint: str) -> tuple[list[BatchLine], list[Obj]]:
    """The requests of an input file (open, closed here), and an ``errors`` entry per line that does
    not belong (the first :data:`MAX_ERRORS`: reading stops at the last of them)."""
    requests: list[BatchLine] = []
    errors: list[Obj] = []
    with f:
        for number, raw in enumerate(f, 1):
            if len(errors) >= MAX_ERRORS:
                break
            if not raw.strip():
                continue
            try:
                line = _line.decode(raw)
            except msgspec.DecodeError as exc:
                errors.append(
                    {"code": "invalid_json_line", "line": number, "message": str(exc), "param": None}
                )
                continue
            if line.url != endpoint:
                message = f"The URL provided for this request does not match the batch endpoint {endpoint}."
                errors.append({"code": "invalid_url", "line": number, "message": message, "param": "url"})
            requests.append(line)
    if not requests and not errors:
        errors.append(
            {"code": "empty_file", "line": None, "message": "The input file has no requests.", "param": None}
        )
    return requests, errors


class OutputTooLarge(Exception):
    """The batch's output and error files would pass ``--max-storage-bytes``."""


def _quota_error(detail: str) -> Obj:
    message = f"The batch's output does not fit the storage quota (--max-storage-bytes): {detail}."
    return {"code": "storage_quota_exceeded", "line": None, "message": message, "param": None}


class BatchRunner:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.store: Store = ctx.store
        self.handlers = _handlers(ctx)

    def job(self) -> Job:
        return Job("batch", RUNNABLE, self.run)

    def _save(self, batch: Obj, expect: tuple[str, ...]) -> bool:
        return self.store.update("batch", batch, expect=expect)

    async def run(self, batch: Obj, lease: Lease) -> None:
        try:
            await self._run(batch, lease)
        except LeaseLost:
            raise
        except Exception:
            log.exception("batch %s failed", batch["id"])
            error = {
                "code": "server_error",
                "line": None,
                "message": "The batch failed unexpectedly.",
                "param": None,
            }
            self._fail(batch, [error])

    async def _run(self, batch: Obj, lease: Lease) -> None:
        now = int(time.time())
        if batch["status"] == "cancelling":
            self._save(
                {**batch, "status": "cancelled", "cancelled_at": now, "usage": batch["usage"] or usage()},
                ("cancelling",),
            )
            return
        if batch["expires_at"] <= now:
            self._save(
                {**batch, "status": "expired", "expired_at": now, "usage": batch["usage"] or usage()},
                (batch["status"],),
            )
            return
        file_id = batch["input_file_id"]
        # opened once: gone by then (deleted by another worker since the lookup) is gone before
        file = self.store.open_blob(file_id) if live_file(self.store, file_id) is not None else None
        if file is None:
            missing = {
                "code": "invalid_file",
                "line": None,
                "message": f"The input file '{file_id}' was deleted or has expired.",
                "param": None,
            }
            self._fail(batch, [missing])
            return
        requests, errors = await run_in_threadpool(read_requests, file, batch["endpoint"])
        model = _model.decode(requests[0].body).model if requests else None
        if errors:
            self._fail({**batch, "model": model}, errors)
            return
        started = {
            **batch,
            "status": "in_progress",
            "in_progress_at": batch["in_progress_at"] or now,
            "model": model,
            "request_counts": {"total": len(requests), "completed": 0, "failed": 0},
        }
        if not self._save(started, ("validating", "in_progress", "finalizing")):
            await self._cancelled_meanwhile(batch["id"], lease)
            return
        await self._answer(started, requests, lease)

    def _fail(
        self,
        batch: Obj,
        errors: list[Obj],
        expect: tuple[str, ...] = ("validating", "in_progress", "finalizing"),
    ) -> None:
        failed = {
            **batch,
            "status": "failed",
            "failed_at": int(time.time()),
            "errors": {"object": "list", "data": errors},
            "usage": batch["usage"] or usage(),
        }
        self._save(failed, expect)

    async def _cancelled_meanwhile(self, batch_id: str, lease: Lease) -> None:
        current = self.store.get("batch", batch_id)
        if current is not None and current["status"] == "cancelling":
            lease.renew()
            cancelled = {**current, "status": "cancelled", "cancelled_at": int(time.time())}
            self._save({**cancelled, "usage": current["usage"] or usage()}, ("cancelling",))

    async def _answer(self, batch: Obj, requests: list[BatchLine], lease: Lease) -> None:
        store = self.store
        out, err = store.blob_writer(), store.blob_writer()
        try:
            await self._answer_into(batch, requests, lease, out, err)
        except OutputTooLarge as exc:
            lease.renew()
            self._fail(batch, [_quota_error(str(exc))], ("in_progress", "finalizing", "cancelling"))
        finally:
            store.discard_blob(out)
            store.discard_blob(err)

    def _room(self) -> int:
        """Bytes the storage quota has left."""
        return self.ctx.settings.max_storage_bytes - self.store.used_bytes()

    async def _answer_into(
        self, batch: Obj, requests: list[BatchLine], lease: Lease, out: Any, err: Any
    ) -> None:
        counts = batch["request_counts"]
        tokens = [0, 0]
        written = 0
        duration = self.ctx.settings.batch_duration_s
        steps = max(1, min(len(requests), math.ceil(duration / STEP_S)))
        per_step = math.ceil(len(requests) / steps)
        start = time.monotonic()
        status = "in_progress"
        for step in range(steps):
            room = self._room()
            for i, req in enumerate(requests[step * per_step : (step + 1) * per_step], 1):
                code, body, prompt, completion = self._answer_one(req)
                line = output_line(req.custom_id, code, body)
                written += len(line)
                if written > room:
                    batch["usage"] = usage(*tokens)
                    raise OutputTooLarge(
                        f"{written} bytes of output by request '{req.custom_id}', {max(room, 0)} bytes free"
                    )
                (out if code == 200 else err).write(line)
                counts["completed" if code == 200 else "failed"] += 1
                tokens[0] += prompt
                tokens[1] += completion
                if i % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            lease.renew()
            if not self._save(batch, ("in_progress",)):
                status = "cancelling"
                break
            delay = start + duration * (step + 1) / steps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        batch["usage"] = usage(*tokens)
        if status == "in_progress":
            batch.update(status="finalizing", finalizing_at=int(time.time()))
            if not self._save(batch, ("in_progress",)):
                status = "cancelling"
        outputs = await self._store_outputs(batch, out, err)
        lease.renew()
        if status == "cancelling":
            current = self.store.get("batch", batch["id"]) or batch
            done = {**current, **outputs, "usage": batch["usage"], "request_counts": counts}
            done.update(status="cancelled", cancelled_at=int(time.time()))
            self._save(done, ("cancelling",))
        else:
            self._save(
                {**batch, **outputs, "status": "completed", "completed_at": int(time.time())}, ("finalizing",)
            )

    def _answer_one(self, req: BatchLine) -> Answer:
        try:
            return self.handlers[req.url](req.body)
        except ApiError as exc:
            return exc.status, exc.body(), 0, 0

    async def _store_outputs(self, batch: Obj, out: Any, err: Any) -> Obj:
        """Record the output and error files, each checked against the quota in the store (the output
        file leaves room for the error file); raises :class:`OutputTooLarge` with neither kept."""
        store, quota = self.store, self.ctx.settings.max_storage_bytes
        ids: Obj = {"output_file_id": None, "error_file_id": None}
        sizes = {"output_file_id": out.tell(), "error_file_id": err.tell()}
        lifetime = batch.get(OUTPUT_EXPIRES)
        for field, writer, suffix in (("output_file_id", out, "output"), ("error_file_id", err, "error")):
            size = sizes[field]
            if size == 0 and field == "error_file_id":
                continue
            file_id = new_id("file-")
            await run_in_threadpool(store.commit_blob, writer, file_id)
            obj = file_object(file_id, f"{batch['id']}_{suffix}.jsonl", size, "batch_output")
            if lifetime is not None:
                obj["expires_at"] = obj["created_at"] + lifetime
            reserve = sizes["error_file_id"] if field == "output_file_id" else 0
            try:
                store.insert("file", obj, tag="batch_output", size=size, quota=quota - reserve)
            except StorageFull as exc:
                store.delete_blob(file_id)
                for kept in filter(None, ids.values()):
                    store.delete("file", kept)
                    store.delete_blob(kept)
                raise OutputTooLarge(str(exc)) from None
            ids[field] = file_id
        return ids
