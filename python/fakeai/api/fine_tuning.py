"""``/v1/fine_tuning/jobs``: create, list, retrieve, cancel, pause, resume, events (list or SSE
stream with ``stream=true``) and checkpoints. The jobs run in the background
(:mod:`fakeai.engine.fine_tuning`); a job's private progress (``_state``) is never shown. A job (its
``metadata`` and integrations) and its first events count against ``--max-storage-bytes``: a create
that does not fit is a 400 ``storage_quota_exceeded`` that stores none of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import msgspec
import orjson
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import fetch, json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine.fine_tuning import KIND, add_event
from fakeai.errors import bad_request
from fakeai.schemas.common import ModelId, Seed, check_metadata
from fakeai.store import Obj, StorageFull, Store
from fakeai.store.objects import live_file, new_id

TERMINAL = ("succeeded", "failed", "cancelled")
LIMITS = {
    "n_epochs": (1, 50),
    "batch_size": (1, 256),
    "learning_rate_multiplier": (1e-6, 100),
    "beta": (1e-6, 2),
}
EVENT_POLL_S = 0.1


#: Bounds of a job's stored ``integrations`` (OpenAI documents none; a W&B project, run name, entity
#: or tag is a short identifier).
Text = Annotated[str, Meta(max_length=128)]
MAX_INTEGRATIONS, MAX_WANDB_TAGS = 5, 50


class Wandb(msgspec.Struct, omit_defaults=True):
    project: Text
    name: Text | None = None
    entity: Text | None = None
    tags: Annotated[list[Text], Meta(max_length=MAX_WANDB_TAGS)] | None = None


class Integration(msgspec.Struct):
    type: Literal["wandb"]
    wandb: Wandb


class CreateJob(msgspec.Struct):
    model: ModelId
    training_file: str
    hyperparameters: dict[str, Any] | None = None
    method: dict[str, Any] | None = None
    seed: Seed | None = None
    suffix: str | None = None
    validation_file: str | None = None
    metadata: dict[str, str] | None = None
    integrations: Annotated[list[Integration], Meta(max_length=MAX_INTEGRATIONS)] | None = None


def _method(req: CreateJob) -> Obj:
    method = req.method or {
        "type": "supervised",
        "supervised": {"hyperparameters": req.hyperparameters or {}},
    }
    kind = method.get("type")
    if kind not in ("supervised", "dpo"):
        raise bad_request("'method.type' must be 'supervised' or 'dpo'.", param="method.type")
    section = method.get(kind) or {}
    if not isinstance(section, dict):
        raise bad_request(f"'method.{kind}' must be an object.", param=f"method.{kind}")
    params = section.get("hyperparameters") or {}
    if not isinstance(params, dict):
        raise bad_request(
            f"'method.{kind}.hyperparameters' must be an object.", param=f"method.{kind}.hyperparameters"
        )
    params = dict(params)
    if req.method is not None and req.hyperparameters:
        params = {**req.hyperparameters, **params}
    for name, value in params.items():
        if name not in LIMITS or (name == "beta" and kind != "dpo"):
            raise bad_request(
                f"Unknown hyperparameter '{name}'.", param=f"method.{kind}.hyperparameters.{name}"
            )
        low, high = LIMITS[name]
        if value != "auto" and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high
        ):
            raise bad_request(
                f"'{name}' must be 'auto' or a number from {low:g} to {high:g}.",
                param=f"method.{kind}.hyperparameters.{name}",
            )
    for name in ("batch_size", "learning_rate_multiplier", "n_epochs"):
        params.setdefault(name, "auto")
    return {"type": kind, kind: {"hyperparameters": params}}


def present(job: Obj) -> Obj:
    return {k: v for k, v in job.items() if k != "_state"}


def _training_file(store: Store, file_id: str | None, param: str) -> None:
    if file_id is None:
        return
    file = live_file(store, file_id)
    if file is None or file["purpose"] != "fine-tune":
        raise bad_request(
            f"File '{file_id}' does not exist or does not have purpose 'fine-tune'.", param=param
        )


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    decoder = msgspec.json.Decoder(CreateJob)
    limit = ctx.settings.max_body_bytes

    def job_of(request: Request) -> Obj:
        return fetch(store, KIND, request.path_params["job_id"], "fine-tuning job")

    async def create(request: Request) -> Response:
        req = await json_body(request, decoder, limit)
        check_metadata(req.metadata)
        if req.suffix is not None and not 1 <= len(req.suffix) <= 64:
            raise bad_request("'suffix' must be 1 to 64 characters.", param="suffix")
        method = _method(req)
        _training_file(store, req.training_file, "training_file")
        _training_file(store, req.validation_file, "validation_file")
        hyper = method[method["type"]]["hyperparameters"]
        job: Obj = {
            "id": new_id("ftjob-"),
            "object": "fine_tuning.job",
            "created_at": int(time.time()),
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": {k: hyper[k] for k in ("batch_size", "learning_rate_multiplier", "n_epochs")},
            "method": method,
            "model": req.model,
            "organization_id": "org-fakeai",
            "result_files": [],
            "seed": req.seed if req.seed is not None else int.from_bytes(new_id("").encode()[:4], "little"),
            "status": "validating_files",
            "trained_tokens": None,
            "training_file": req.training_file,
            "validation_file": req.validation_file,
            "estimated_finish": None,
            "integrations": msgspec.to_builtins(req.integrations or []),
            "metadata": req.metadata,
            "user_provided_suffix": req.suffix,
        }
        # Recorded at creation, as OpenAI does: a client listing events right away sees them. They
        # go in before the job, so a background worker (any process) that picks the job up at once
        # can only add its events after them.
        quota = ctx.settings.max_storage_bytes
        try:
            add_event(store, job["id"], f"Created fine-tuning job: {job['id']}", quota=quota)
            add_event(store, job["id"], f"Validating training file: {req.training_file}", quota=quota)
            store.insert(KIND, job, quota=quota)
        except StorageFull as exc:
            store.delete_all("fine_tuning.event", tag=job["id"])
            raise quota_exceeded(exc, None) from None
        return json_response(present(job))

    async def list_jobs(request: Request) -> Response:
        limit_, _, after = page_params(request)
        data, more = store.page(KIND, after=after, limit=limit_)
        return list_response([present(j) for j in data], more)

    async def retrieve(request: Request) -> Response:
        return json_response(present(job_of(request)))

    def transition(request: Request, allowed: tuple[str, ...], changes: Obj, verb: str) -> Response:
        while True:
            job = job_of(request)
            if job["status"] not in allowed:
                raise bad_request(
                    f"Cannot {verb} a job with status '{job['status']}'.", code="invalid_job_state"
                )
            changed = {**job, **changes}
            if store.update(KIND, changed, expect=(job["status"],)):
                return json_response(present(changed))

    async def cancel(request: Request) -> Response:
        changes = {"status": "cancelled", "finished_at": int(time.time())}
        return transition(request, ("validating_files", "queued", "running", "paused"), changes, "cancel")

    async def pause(request: Request) -> Response:
        return transition(request, ("running",), {"status": "paused"}, "pause")

    async def resume(request: Request) -> Response:
        return transition(request, ("paused",), {"status": "running"}, "resume")

    async def events(request: Request) -> Response:
        job = job_of(request)
        if request.query_params.get("stream") in ("true", "1"):
            return StreamingResponse(_event_stream(store, job["id"]), media_type="text/event-stream")
        limit_, _, after = page_params(request)
        data, more = store.page("fine_tuning.event", tag=job["id"], after=after, limit=limit_)
        return json_response({"object": "list", "data": data, "has_more": more})

    async def checkpoints(request: Request) -> Response:
        job = job_of(request)
        limit_, _, after = page_params(request, default_limit=10)
        data, more = store.page("fine_tuning.checkpoint", tag=job["id"], after=after, limit=limit_)
        return list_response(data, more)

    base = "/v1/fine_tuning/jobs/{job_id}"
    return [
        Route("/v1/fine_tuning/jobs", create, methods=["POST"]),
        Route("/v1/fine_tuning/jobs", list_jobs, methods=["GET"]),
        Route(base, retrieve, methods=["GET"]),
        Route(base + "/cancel", cancel, methods=["POST"]),
        Route(base + "/pause", pause, methods=["POST"]),
        Route(base + "/resume", resume, methods=["POST"]),
        Route(base + "/events", events, methods=["GET"]),
        Route(base + "/checkpoints", checkpoints, methods=["GET"]),
    ]


async def _event_stream(store: Store, job_id: str) -> AsyncIterator[bytes]:
    """Every event of the job as SSE ``data:`` lines, oldest first, until the job ends; then ``[DONE]``."""
    last: str | None = None
    while True:
        job = store.get(KIND, job_id)
        data, _ = store.page("fine_tuning.event", tag=job_id, after=last, limit=1000, order="asc")
        for event in data:
            yield b"data: " + orjson.dumps(event) + b"\n\n"
        if data:
            last = data[-1]["id"]
        if job is None or (job["status"] in TERMINAL and not data):
            yield b"data: [DONE]\n\n"
            return
        await asyncio.sleep(EVENT_POLL_S)
