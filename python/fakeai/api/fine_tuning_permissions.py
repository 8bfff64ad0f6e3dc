"""``/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions``: sharing a fine-tuned model
checkpoint with projects (``client.fine_tuning.checkpoints.permissions``: ``create``, ``list``, the
deprecated ``retrieve`` answering the same page, ``delete``).

- The checkpoint is a fine-tuned model (``ft:...``, what a succeeded job publishes) or one of a job's
  checkpoints (``...:ckpt-step-N``, :mod:`fakeai.engine.fine_tuning`); anything else is a 404 ``No
  fine-tuned model checkpoint found with id '...'.`` Its name may hold ``/`` (a base model such as
  ``meta-llama/...``), so the path takes it whole. A checkpoint is found by its name among the stored
  checkpoints (the store indexes them by job): a scan, cheap at the few hundred a test server makes.
- ``POST`` (``project_ids``: 1 to :data:`MAX_PROJECT_IDS` ids) answers a list of one
  ``checkpoint.permission`` (``cp_`` + 24 letters and digits) per project; a project that already has
  one keeps it (it is listed again, not doubled). A checkpoint holds at most :data:`MAX_PERMISSIONS`.
  Project ids are not checked against ``/v1/organization/projects``: an admin key's projects are the
  real organisation's.
- ``GET``: ``limit`` 1-100 (default 10), ``order`` ``ascending``/``descending`` (default), ``after``
  (a permission id of this checkpoint, else a 400), ``project_id`` (only that project's).
- ``DELETE .../permissions/{permission_id}``: ``{"id", "object": "checkpoint.permission",
  "deleted": true}``; a permission of another checkpoint is a 404 like an unknown one.

Permissions are store objects tagged with their checkpoint's name, so every worker sees them. They
count against ``--max-storage-bytes``: a ``POST`` whose permissions do not fit is a 400
``storage_quota_exceeded`` that adds none of them.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import json_body, json_response, limit_param, list_response
from fakeai.context import ServerContext
from fakeai.errors import bad_request, not_found
from fakeai.store import Obj, StorageFull, Store

KIND = "checkpoint.permission"
CHECKPOINT_KIND = "fine_tuning.checkpoint"
MAX_PROJECT_IDS = 100
MAX_PERMISSIONS = 1000
_ALPHABET = string.ascii_letters + string.digits


class CreatePermissions(msgspec.Struct, forbid_unknown_fields=True):
    project_ids: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=128)]],
        Meta(min_length=1, max_length=MAX_PROJECT_IDS),
    ]


def permission_id() -> str:
    return "cp_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def checkpoint_exists(store: Store, name: str) -> bool:
    """Whether ``name`` is a fine-tuned model or one of the fine-tuning jobs' checkpoints."""
    if not name.startswith("ft:"):
        return False
    model = store.get("model", name)
    if model is not None:
        return True
    return ":ckpt-step-" in name and any(
        c["fine_tuned_model_checkpoint"] == name for c in store.all(CHECKPOINT_KIND)
    )


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    decoder = msgspec.json.Decoder(CreatePermissions)

    async def checkpoint(request: Request) -> str:
        name = request.path_params["fine_tuned_model_checkpoint"]
        if not await run_in_threadpool(checkpoint_exists, store, name):
            raise not_found("fine-tuned model checkpoint", name)
        return name

    async def create(request: Request) -> Response:
        name = await checkpoint(request)
        req = await json_body(request, decoder, ctx.settings.max_body_bytes)
        held = {p["project_id"]: p for p in store.all(KIND, tag=name)}
        wanted = list(dict.fromkeys(req.project_ids))
        new = [p for p in wanted if p not in held]
        if len(held) + len(new) > MAX_PERMISSIONS:
            raise bad_request(
                f"A checkpoint holds at most {MAX_PERMISSIONS} permissions.", param="project_ids"
            )
        now = int(time.time())
        made: list[Obj] = []
        try:
            for project in new:
                made.append({"id": permission_id(), "object": KIND, "created_at": now, "project_id": project})
                store.insert(KIND, made[-1], tag=name, quota=ctx.settings.max_storage_bytes)
                held[project] = made[-1]
        except StorageFull as exc:  # none of this request's stays
            for permission in made[:-1]:
                store.delete(KIND, permission["id"])
            raise quota_exceeded(exc, "project_ids") from None
        return list_response([held[p] for p in wanted], False)

    async def list_permissions(request: Request) -> Response:
        name = await checkpoint(request)
        query = request.query_params
        limit = limit_param(request, 10, 100)
        order = query.get("order", "descending")
        if order not in ("ascending", "descending"):
            raise bad_request(
                f"'order' must be 'ascending' or 'descending', got {order[:32]!r}.",
                param="order",
                code="invalid_value",
            )
        data: list[Obj] = store.all(KIND, tag=name)
        if order == "descending":
            data.reverse()
        project = query.get("project_id")
        if project is not None:
            data = [p for p in data if p["project_id"] == project]
        after = query.get("after")
        if after is not None:
            at = next((i for i, p in enumerate(data) if p["id"] == after), None)
            if at is None:
                raise bad_request(f"No permission with id {after[:64]!r} to page from.", param="after")
            data = data[at + 1 :]
        return list_response(data[:limit], len(data) > limit)

    async def delete(request: Request) -> Response:
        name = await checkpoint(request)
        permission = request.path_params["permission_id"]
        held = any(p["id"] == permission for p in store.all(KIND, tag=name))
        if not held or store.delete(KIND, permission) is None:
            raise not_found("checkpoint permission", permission)
        return json_response({"id": permission, "object": KIND, "deleted": True})

    base = "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint:path}/permissions"
    return [
        Route(base, create, methods=["POST"]),
        Route(base, list_permissions, methods=["GET"]),
        Route(base + "/{permission_id}", delete, methods=["DELETE"]),
    ]
