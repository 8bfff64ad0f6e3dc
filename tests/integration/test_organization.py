"""The Administration API: projects, project users, service accounts, keys, users, invites, admin keys."""

from __future__ import annotations

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration
ORG = "/v1/organization"


def ok(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


def err(r: httpx.Response, status: int = 400) -> dict:
    assert r.status_code == status, r.text
    return r.json()["error"]


def test_projects_users_service_accounts_and_keys(http: httpx.Client) -> None:
    proj = ok(http.post(ORG + "/projects", json={"name": "Research"}))
    assert (
        proj["object"] == "organization.project"
        and proj["status"] == "active"
        and proj["id"].startswith("proj_")
    )
    assert ok(http.post(f"{ORG}/projects/{proj['id']}", json={"name": "R&D"}))["name"] == "R&D"
    listed = [p["id"] for p in ok(http.get(ORG + "/projects", params={"limit": 100}))["data"]]
    assert "proj_default" in listed and proj["id"] in listed

    member = ok(
        http.post(f"{ORG}/projects/{proj['id']}/users", json={"user_id": "user-fakeai", "role": "member"})
    )
    assert member["object"] == "organization.project.user" and member["id"] == "user-fakeai"
    assert (
        ok(http.post(f"{ORG}/projects/{proj['id']}/users/user-fakeai", json={"role": "owner"}))["role"]
        == "owner"
    )
    assert [u["id"] for u in ok(http.get(f"{ORG}/projects/{proj['id']}/users"))["data"]] == ["user-fakeai"]
    err(http.post(f"{ORG}/projects/{proj['id']}/users", json={"user_id": "user-fakeai", "role": "member"}))
    err(http.post(f"{ORG}/projects/{proj['id']}/users", json={"user_id": "user-nobody", "role": "member"}))
    assert ok(http.delete(f"{ORG}/projects/{proj['id']}/users/user-fakeai"))["deleted"]

    account = ok(http.post(f"{ORG}/projects/{proj['id']}/service_accounts", json={"name": "ci-bot"}))
    assert account["object"] == "organization.project.service_account"
    assert account["api_key"]["value"].startswith("sk-svcacct-")
    [key] = ok(http.get(f"{ORG}/projects/{proj['id']}/api_keys"))["data"]
    assert key["id"] == account["api_key"]["id"] and "value" not in key and "****" in key["redacted_value"]
    assert key["owner"]["service_account"]["id"] == account["id"]
    assert ok(http.get(f"{ORG}/projects/{proj['id']}/api_keys/{key['id']}"))["name"] == "Secret Key"
    assert ok(http.get(f"{ORG}/projects/{proj['id']}/service_accounts/{account['id']}"))["name"] == "ci-bot"
    err(http.get(f"{ORG}/projects/proj_default/service_accounts/{account['id']}"), 404)
    assert ok(http.delete(f"{ORG}/projects/{proj['id']}/service_accounts/{account['id']}"))["deleted"]
    assert ok(http.get(f"{ORG}/projects/{proj['id']}/api_keys"))["data"] == []

    archived = ok(http.post(f"{ORG}/projects/{proj['id']}/archive"))
    assert archived["status"] == "archived" and archived["archived_at"]
    assert proj["id"] not in [p["id"] for p in ok(http.get(ORG + "/projects", params={"limit": 100}))["data"]]
    everything = ok(http.get(ORG + "/projects", params={"limit": 100, "include_archived": "true"}))["data"]
    assert proj["id"] in [p["id"] for p in everything]
    err(http.post(f"{ORG}/projects/{proj['id']}/service_accounts", json={"name": "late"}))
    err(http.post(f"{ORG}/projects/proj_default/archive"))
    err(http.get(f"{ORG}/projects/proj_nope"), 404)
    err(http.post(ORG + "/projects", json={"name": " "}))
    err(http.post(ORG + "/projects", json={}))


def test_users_invites_and_admin_keys(http: httpx.Client) -> None:
    users = ok(http.get(ORG + "/users"))["data"]
    assert users[0]["id"] == "user-fakeai" and users[0]["role"] == "owner"
    err(http.post(ORG + "/users/user-fakeai", json={"role": "admin"}))
    err(http.delete(ORG + "/users/user-fakeai"))
    err(http.get(ORG + "/users/user-nope"), 404)

    invite = ok(
        http.post(
            ORG + "/invites",
            json={
                "email": "ada@example.com",
                "role": "reader",
                "projects": [{"id": "proj_default", "role": "member"}],
            },
        )
    )
    assert invite["object"] == "organization.invite" and invite["status"] == "pending"
    assert invite["expires_at"] > invite["invited_at"]
    assert ok(http.get(f"{ORG}/invites/{invite['id']}"))["email"] == "ada@example.com"
    assert invite["id"] in [i["id"] for i in ok(http.get(ORG + "/invites"))["data"]]
    assert ok(http.delete(f"{ORG}/invites/{invite['id']}"))["deleted"]
    err(http.get(f"{ORG}/invites/{invite['id']}"), 404)
    err(http.post(ORG + "/invites", json={"email": "nope", "role": "reader"}))
    err(http.post(ORG + "/invites", json={"email": "a@b.c", "role": "god"}))
    err(
        http.post(ORG + "/invites", json={"email": "a@b.c", "role": "reader", "projects": [{"id": "proj_x"}]})
    )

    key = ok(http.post(ORG + "/admin_api_keys", json={"name": "ops"}))
    assert key["object"] == "organization.admin_api_key" and key["value"].startswith("sk-admin-")
    shown = ok(http.get(f"{ORG}/admin_api_keys/{key['id']}"))
    assert "value" not in shown and shown["redacted_value"] == key["redacted_value"]
    assert ok(http.delete(f"{ORG}/admin_api_keys/{key['id']}"))["deleted"]
    err(http.delete(f"{ORG}/admin_api_keys/{key['id']}"), 404)


def test_the_last_owner_cannot_be_demoted(http: httpx.Client) -> None:
    """Removing the only owner was refused, demoting them to reader was not."""
    assert err(http.post(ORG + "/users/user-fakeai", json={"role": "reader"}))["param"] == "user_id"
    assert ok(http.get(ORG + "/users/user-fakeai"))["role"] == "owner"
    assert ok(http.post(ORG + "/users/user-fakeai", json={"role": "owner"}))["role"] == "owner"


def test_stored_names_and_lists_are_bounded(http: httpx.Client) -> None:
    """Names, emails and an invite's projects were stored at any length: each is bounded, a 400
    naming it."""
    long = "n" * 257
    assert err(http.post(ORG + "/admin_api_keys", json={"name": long}))["param"] == "name"
    assert err(http.post(ORG + "/projects", json={"name": long}))["param"] == "name"
    assert err(http.post(ORG + "/projects/proj_default", json={"name": long}))["param"] == "name"
    account = {"name": long}
    assert err(http.post(ORG + "/projects/proj_default/service_accounts", json=account))["param"] == "name"
    assert ok(http.post(ORG + "/projects", json={"name": "n" * 256}))["name"] == "n" * 256
    email = "a" * 250 + "@b.co"
    assert err(http.post(ORG + "/invites", json={"email": email, "role": "reader"}))["param"] == "email"
    many = [{"id": "proj_default", "role": "member"}] * 101
    invite = {"email": "a@b.co", "role": "reader", "projects": many}
    assert err(http.post(ORG + "/invites", json=invite))["param"] == "projects"
    extra = [{"id": "proj_default", "role": "member", "note": "x" * 10_000}]
    stored = ok(http.post(ORG + "/invites", json={**invite, "projects": extra}))
    assert stored["projects"] == [{"id": "proj_default", "role": "member"}]


def test_the_sdks_admin_types_parse(base_url: str) -> None:
    """Invites and project API keys carry every field the SDK's types require (``created_at``,
    ``owner_project_access``), read through the SDK's own admin client."""
    with openai.OpenAI(base_url=base_url + "/v1", api_key="k", admin_api_key="k", max_retries=0) as c:
        org = c.admin.organization
        invite = org.invites.create(email="grace@example.com", role="reader")
        assert invite.created_at > 0 and invite.status == "pending"
        assert org.invites.retrieve(invite.id).created_at == invite.created_at
        assert invite.id in [i.id for i in org.invites.list()]
        proj = org.projects.create(name="typed")
        account = org.projects.service_accounts.create(project_id=proj.id, name="bot")
        [key] = org.projects.api_keys.list(project_id=proj.id)
        assert key.owner_project_access == "active" and key.owner.service_account.id == account.id
        assert org.projects.api_keys.retrieve(key.id, project_id=proj.id).expires_at is None
