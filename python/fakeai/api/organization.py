"""OpenAI's Administration API: users, invites and admin API keys (projects are in
:mod:`fakeai.api.organization_projects`), kept in the store so every worker sees the same organization.

fakeai has no accounts: the organization starts with one owner, ``user-fakeai`` (``owner@fakeai.local``),
and a ``Default Project``. Invites stay ``pending`` (nobody can accept them); a project user must be an
organization user. Keys are generated like OpenAI's (``sk-proj-...``, ``sk-admin-...``); the full value
is shown once, on creation, and redacted afterwards. Requests are not authenticated with these keys.

What a client creates or changes here (invites, keys, projects, members, roles) counts against
``--max-storage-bytes``: past it, a 400 ``storage_quota_exceeded`` (:func:`save`). The seeded owner and
default project are the server's own: counted, never refused.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.files import quota_exceeded
from fakeai.api.resources import fetch, json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.errors import bad_request
from fakeai.store import Conflict, Obj, StorageFull, Store
from fakeai.store.objects import new_id

OWNER: Obj = {
    "object": "organization.user",
    "id": "user-fakeai",
    "name": "FakeAI Owner",
    "email": "owner@fakeai.local",
    "role": "owner",
    "added_at": 1_700_000_000,
}
DEFAULT_PROJECT: Obj = {
    "object": "organization.project",
    "id": "proj_default",
    "name": "Default Project",
    "created_at": 1_700_000_000,
    "archived_at": None,
    "status": "active",
}
INVITE_TTL_S = 7 * 86400
#: Bounds of the stored free text (OpenAI documents none): a name, an email address (RFC 5321's 254
#: characters), and the projects one invite may name.
Name = Annotated[str, Meta(max_length=256)]
Email = Annotated[str, Meta(max_length=254)]
MAX_INVITE_PROJECTS = 100


class Named(msgspec.Struct):
    name: Name


class Role(msgspec.Struct):
    role: str


class InviteProject(msgspec.Struct):
    id: str
    role: str


class InviteBody(msgspec.Struct):
    email: Email
    role: str
    projects: Annotated[list[InviteProject], Meta(max_length=MAX_INVITE_PROJECTS)] | None = None


def seed(store: Store) -> None:
    for kind, obj in (("org.user", OWNER), ("org.project", DEFAULT_PROJECT)):
        if store.get(kind, obj["id"]) is None:
            try:
                store.insert(kind, obj)
            except Conflict:  # another worker seeded it first
                pass


def save(ctx: ServerContext, kind: str, obj: Obj, *, tag: str = "", new: bool = True) -> None:
    """Insert (``new``) or replace ``obj`` within ``--max-storage-bytes``, else the 400."""
    quota = ctx.settings.max_storage_bytes
    try:
        if new:
            ctx.store.insert(kind, obj, tag=tag, quota=quota)
        else:
            ctx.store.update(kind, obj, quota=quota)
    except StorageFull as exc:
        raise quota_exceeded(exc, None) from None


def check_role(role: str, allowed: tuple[str, ...]) -> str:
    if role not in allowed:
        raise bad_request(f"'role' must be one of {', '.join(allowed)}.", param="role")
    return role


def check_not_last_owner(store: Store, user: Obj, doing: str) -> None:
    """400 when ``user`` is the organization's only owner (who can be neither removed nor demoted)."""
    if user["role"] == "owner" and not any(
        u["role"] == "owner" and u["id"] != user["id"] for u in store.all("org.user")
    ):
        raise bad_request(f"The organization's last owner cannot be {doing}.", param="user_id")


def check_name(name: str) -> str:
    if not name.strip():
        raise bad_request("'name' must not be empty.", param="name")
    return name


def new_key(prefix: str) -> tuple[str, str]:
    value = f"{prefix}{secrets.token_urlsafe(36)}"
    return value, f"{value[: len(prefix) + 4]}****{value[-4:]}"


def cursor_page(
    request: Request, store: Store, kind: str, tag: str | None = None, shown: Any = None
) -> Response:
    limit, order, after = page_params(request)
    data, more = store.page(
        kind, tag=tag, after=after, limit=limit, order=order if "order" in request.query_params else "asc"
    )
    return list_response([shown(o) if shown else o for o in data], more)


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_body_bytes
    named, role_body = msgspec.json.Decoder(Named), msgspec.json.Decoder(Role)
    invite_body = msgspec.json.Decoder(InviteBody)
    seed(store)

    # Users
    def user(request: Request) -> Obj:
        return fetch(store, "org.user", request.path_params["user_id"], "user")

    async def list_users(request: Request) -> Response:
        return cursor_page(request, store, "org.user")

    async def retrieve_user(request: Request) -> Response:
        return json_response(user(request))

    async def modify_user(request: Request) -> Response:
        found = user(request)
        req = await json_body(request, role_body, limit)
        changed = {**found, "role": check_role(req.role, ("owner", "reader"))}
        if changed["role"] != "owner":
            check_not_last_owner(store, found, "demoted")
        save(ctx, "org.user", changed, new=False)
        return json_response(changed)

    async def delete_user(request: Request) -> Response:
        found = user(request)
        check_not_last_owner(store, found, "removed")
        store.delete("org.user", found["id"])
        return json_response({"object": "organization.user.deleted", "id": found["id"], "deleted": True})

    # Invites
    async def create_invite(request: Request) -> Response:
        req = await json_body(request, invite_body, limit)
        if "@" not in req.email:
            raise bad_request("'email' must be an email address.", param="email")
        projects = []
        for i, entry in enumerate(req.projects or ()):
            if store.get("org.project", entry.id) is None:
                raise bad_request(f"Project '{entry.id}' not found.", param=f"projects[{i}].id")
            check_role(entry.role, ("owner", "member"))
            projects.append({"id": entry.id, "role": entry.role})
        now = int(time.time())
        invite = {
            "object": "organization.invite",
            "id": new_id("invite-"),
            "email": req.email,
            "role": check_role(req.role, ("owner", "reader")),
            "status": "pending",
            "created_at": now,  # the SDK's name since 2026; ``invited_at`` before
            "invited_at": now,
            "expires_at": now + INVITE_TTL_S,
            "accepted_at": None,
            "projects": projects,
        }
        save(ctx, "org.invite", invite)
        return json_response(invite)

    async def list_invites(request: Request) -> Response:
        return cursor_page(request, store, "org.invite")

    async def retrieve_invite(request: Request) -> Response:
        return json_response(fetch(store, "org.invite", request.path_params["invite_id"], "invite"))

    async def delete_invite(request: Request) -> Response:
        invite = fetch(store, "org.invite", request.path_params["invite_id"], "invite")
        store.delete("org.invite", invite["id"])
        return json_response({"object": "organization.invite.deleted", "id": invite["id"], "deleted": True})

    # Admin API keys
    async def create_admin_key(request: Request) -> Response:
        req = await json_body(request, named, limit)
        value, redacted = new_key("sk-admin-")
        key = {
            "object": "organization.admin_api_key",
            "id": new_id("key_"),
            "name": check_name(req.name),
            "redacted_value": redacted,
            "created_at": int(time.time()),
            "last_used_at": None,
            "owner": {
                "type": "user",
                "object": "organization.user",
                "id": OWNER["id"],
                "name": OWNER["name"],
                "created_at": OWNER["added_at"],
                "role": "owner",
            },
        }
        save(ctx, "org.admin_api_key", key)
        return json_response({**key, "value": value})

    async def list_admin_keys(request: Request) -> Response:
        return cursor_page(request, store, "org.admin_api_key")

    async def retrieve_admin_key(request: Request) -> Response:
        return json_response(
            fetch(store, "org.admin_api_key", request.path_params["key_id"], "admin API key")
        )

    async def delete_admin_key(request: Request) -> Response:
        key = fetch(store, "org.admin_api_key", request.path_params["key_id"], "admin API key")
        store.delete("org.admin_api_key", key["id"])
        return json_response(
            {"object": "organization.admin_api_key.deleted", "id": key["id"], "deleted": True}
        )

    org = "/v1/organization"
    return [
        Route(org + "/users", list_users, methods=["GET"]),
        Route(org + "/users/{user_id}", retrieve_user, methods=["GET"]),
        Route(org + "/users/{user_id}", modify_user, methods=["POST"]),
        Route(org + "/users/{user_id}", delete_user, methods=["DELETE"]),
        Route(org + "/invites", create_invite, methods=["POST"]),
        Route(org + "/invites", list_invites, methods=["GET"]),
        Route(org + "/invites/{invite_id}", retrieve_invite, methods=["GET"]),
        Route(org + "/invites/{invite_id}", delete_invite, methods=["DELETE"]),
        Route(org + "/admin_api_keys", create_admin_key, methods=["POST"]),
        Route(org + "/admin_api_keys", list_admin_keys, methods=["GET"]),
        Route(org + "/admin_api_keys/{key_id}", retrieve_admin_key, methods=["GET"]),
        Route(org + "/admin_api_keys/{key_id}", delete_admin_key, methods=["DELETE"]),
    ]
