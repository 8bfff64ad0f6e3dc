"""The Administration API's projects, with their users, service accounts and API keys (see
:mod:`fakeai.api.organization` for the organization as a whole)."""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai.api.organization import (
    DEFAULT_PROJECT,
    Named,
    Role,
    check_name,
    check_role,
    cursor_page,
    new_key,
    save,
)
from fakeai.api.resources import fetch, json_body, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.errors import ApiError, bad_request, not_found
from fakeai.store import Obj
from fakeai.store.objects import new_id


class ProjectUserBody(msgspec.Struct):
    user_id: str
    role: str


def routes(ctx: ServerContext) -> list[Route]:
    store = ctx.store
    limit = ctx.settings.max_body_bytes
    named, role_body = msgspec.json.Decoder(Named), msgspec.json.Decoder(Role)
    member_body = msgspec.json.Decoder(ProjectUserBody)

    def project(request: Request) -> Obj:
        return fetch(store, "org.project", request.path_params["project_id"], "project")

    def active_project(request: Request) -> Obj:
        proj = project(request)
        if proj["status"] != "active":
            raise bad_request(f"Project '{proj['id']}' is archived.", param="project_id")
        return proj

    # Projects
    async def create_project(request: Request) -> Response:
        req = await json_body(request, named, limit)
        proj = {
            "object": "organization.project",
            "id": new_id("proj_"),
            "name": check_name(req.name),
            "created_at": int(time.time()),
            "archived_at": None,
            "status": "active",
        }
        save(ctx, "org.project", proj)
        return json_response(proj)

    async def list_projects(request: Request) -> Response:
        limit_, _, after = page_params(request)
        archived = request.query_params.get("include_archived") in ("true", "1")
        data = [p for p in store.all("org.project") if archived or p["status"] == "active"]
        if after is not None:
            ids = [p["id"] for p in data]
            data = data[ids.index(after) + 1 :] if after in ids else []
        return list_response(data[:limit_], len(data) > limit_)

    async def retrieve_project(request: Request) -> Response:
        return json_response(project(request))

    async def modify_project(request: Request) -> Response:
        proj = active_project(request)
        req = await json_body(request, named, limit)
        changed = {**proj, "name": check_name(req.name)}
        save(ctx, "org.project", changed, new=False)
        return json_response(changed)

    async def archive_project(request: Request) -> Response:
        proj = project(request)
        if proj["id"] == DEFAULT_PROJECT["id"]:
            raise bad_request("The default project cannot be archived.", param="project_id")
        changed = {**proj, "status": "archived", "archived_at": proj["archived_at"] or int(time.time())}
        store.update("org.project", changed)  # a transition, as a cancel: counted, not refused
        return json_response(changed)

    # Project users
    def member(request: Request) -> Obj:
        proj, user_id = project(request), request.path_params["user_id"]
        found = store.get("org.project_user", f"{proj['id']}/{user_id}")
        if found is None:
            raise not_found("project user", user_id)
        return found

    async def add_member(request: Request) -> Response:
        proj = active_project(request)
        req = await json_body(request, member_body, limit)
        user = store.get("org.user", req.user_id)
        if user is None:
            raise bad_request(f"'{req.user_id}' is not a user of the organization.", param="user_id")
        key = f"{proj['id']}/{user['id']}"
        if store.get("org.project_user", key) is not None:
            raise bad_request(f"User '{user['id']}' is already in project '{proj['id']}'.", param="user_id")
        entry = {
            "object": "organization.project.user",
            "id": key,
            "user_id": user["id"],
            "name": user["name"],
            "email": user["email"],
            "role": check_role(req.role, ("owner", "member")),
            "added_at": int(time.time()),
        }
        save(ctx, "org.project_user", entry, tag=proj["id"])
        return json_response(_public_member(entry))

    async def list_members(request: Request) -> Response:
        return cursor_page(request, store, "org.project_user", project(request)["id"], _public_member)

    async def retrieve_member(request: Request) -> Response:
        return json_response(_public_member(member(request)))

    async def modify_member(request: Request) -> Response:
        entry = member(request)
        req = await json_body(request, role_body, limit)
        changed = {**entry, "role": check_role(req.role, ("owner", "member"))}
        save(ctx, "org.project_user", changed, new=False)
        return json_response(_public_member(changed))

    async def remove_member(request: Request) -> Response:
        entry = member(request)
        store.delete("org.project_user", entry["id"])
        return json_response(
            {"object": "organization.project.user.deleted", "id": entry["user_id"], "deleted": True}
        )

    # Project service accounts and API keys
    async def create_service_account(request: Request) -> Response:
        proj = active_project(request)
        req = await json_body(request, named, limit)
        now = int(time.time())
        account: Obj = {
            "object": "organization.project.service_account",
            "id": new_id("svc_acct_"),
            "name": check_name(req.name),
            "role": "member",
            "created_at": now,
        }
        value, redacted = new_key("sk-svcacct-")
        api_key = {
            "object": "organization.project.api_key",
            "id": new_id("key_"),
            "name": "Secret Key",
            "redacted_value": redacted,
            "created_at": now,
            "last_used_at": None,
            "expires_at": None,
            "owner": {"type": "service_account", "service_account": account},
            "owner_project_access": "active",
        }
        save(ctx, "org.service_account", account, tag=proj["id"])
        try:
            save(ctx, "org.project_api_key", api_key, tag=proj["id"])
        except ApiError:  # past the quota: the account goes with it
            store.delete("org.service_account", account["id"])
            raise
        shown_key = {
            "object": "organization.project.service_account.api_key",
            "value": value,
            "name": "Secret Key",
            "created_at": now,
            "id": api_key["id"],
        }
        return json_response({**account, "api_key": shown_key})

    def project_child(request: Request, kind: str, param: str, noun: str) -> Obj:
        """The ``kind`` object named by path parameter ``param``, which must belong to the project."""
        proj = project(request)
        child = fetch(store, kind, request.path_params[param], noun)
        if child not in store.all(kind, tag=proj["id"]):
            raise not_found(noun, child["id"])
        return child

    def service_account(request: Request) -> Obj:
        return project_child(request, "org.service_account", "account_id", "service account")

    async def list_service_accounts(request: Request) -> Response:
        return cursor_page(request, store, "org.service_account", project(request)["id"])

    async def retrieve_service_account(request: Request) -> Response:
        return json_response(service_account(request))

    async def delete_service_account(request: Request) -> Response:
        account = service_account(request)
        store.delete("org.service_account", account["id"])
        for key in store.all("org.project_api_key", tag=request.path_params["project_id"]):
            if key["owner"].get("service_account", {}).get("id") == account["id"]:
                store.delete("org.project_api_key", key["id"])
        return json_response(
            {"object": "organization.project.service_account.deleted", "id": account["id"], "deleted": True}
        )

    def project_key(request: Request) -> Obj:
        return project_child(request, "org.project_api_key", "key_id", "API key")

    async def list_project_keys(request: Request) -> Response:
        return cursor_page(request, store, "org.project_api_key", project(request)["id"])

    async def retrieve_project_key(request: Request) -> Response:
        return json_response(project_key(request))

    async def delete_project_key(request: Request) -> Response:
        key = project_key(request)
        store.delete("org.project_api_key", key["id"])
        return json_response(
            {"object": "organization.project.api_key.deleted", "id": key["id"], "deleted": True}
        )

    org, proj = "/v1/organization", "/v1/organization/projects/{project_id}"
    return [
        Route(org + "/projects", create_project, methods=["POST"]),
        Route(org + "/projects", list_projects, methods=["GET"]),
        Route(proj, retrieve_project, methods=["GET"]),
        Route(proj, modify_project, methods=["POST"]),
        Route(proj + "/archive", archive_project, methods=["POST"]),
        Route(proj + "/users", add_member, methods=["POST"]),
        Route(proj + "/users", list_members, methods=["GET"]),
        Route(proj + "/users/{user_id}", retrieve_member, methods=["GET"]),
        Route(proj + "/users/{user_id}", modify_member, methods=["POST"]),
        Route(proj + "/users/{user_id}", remove_member, methods=["DELETE"]),
        Route(proj + "/service_accounts", create_service_account, methods=["POST"]),
        Route(proj + "/service_accounts", list_service_accounts, methods=["GET"]),
        Route(proj + "/service_accounts/{account_id}", retrieve_service_account, methods=["GET"]),
        Route(proj + "/service_accounts/{account_id}", delete_service_account, methods=["DELETE"]),
        Route(proj + "/api_keys", list_project_keys, methods=["GET"]),
        Route(proj + "/api_keys/{key_id}", retrieve_project_key, methods=["GET"]),
        Route(proj + "/api_keys/{key_id}", delete_project_key, methods=["DELETE"]),
    ]


def _public_member(entry: Obj) -> Obj:
    return {**{k: v for k, v in entry.items() if k != "user_id"}, "id": entry["user_id"]}
