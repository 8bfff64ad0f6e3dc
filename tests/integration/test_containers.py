"""The Containers API (:mod:`fakeai.api.containers`, :mod:`fakeai.engine.containers`) through the
official SDK: containers and their files created, listed in cursor pages, retrieved, read and deleted,
objects as the SDK's types declare them; the Responses API's code interpreter running in real
containers; expiry (status, files gone, 400s); the sweep of expired files; two workers agreeing; and
bad input as 4xx envelopes naming the parameter."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import openai
import pytest
from openai.types import ContainerCreateResponse, ContainerListResponse, ContainerRetrieveResponse
from openai.types.containers import FileCreateResponse, FileListResponse, FileRetrieveResponse

from fakeai.engine.containers import FILE_KIND, KIND, Containers
from fakeai.settings import Settings
from fakeai.store.objects import file_object
from fakeai.store.sqlite import SQLiteStore

from .test_contract import conforms

pytestmark = pytest.mark.integration

PATH = re.compile(r"/mnt/data/[0-9a-f]{32}-(.+)")
ALLOWLIST = {
    "type": "allowlist",
    "allowed_domains": ["pypi.org"],
    "domain_secrets": [{"domain": "pypi.org", "name": "TOKEN", "value": "secret"}],
}
CODE = {"type": "code_interpreter", "container": {"type": "auto"}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_containers_are_created_listed_retrieved_and_deleted(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    name = unique("box")
    skill = client.skills.create(files=[("s/SKILL.md", b"---\nname: s\ndescription: d\n---\n")])
    raw = http.post(
        "/v1/containers",
        json={
            "name": name,
            "expires_after": {"anchor": "last_active_at", "minutes": 5},
            "memory_limit": "4g",
            "network_policy": ALLOWLIST,
            "skills": [{"type": "skill_reference", "skill_id": skill.id, "version": "latest"}],
        },
    ).json()
    made = conforms(ContainerCreateResponse, raw)
    assert re.fullmatch(r"cntr_[0-9a-f]{48}", made.id) and made.object == "container"
    assert made.status == "running" and made.name == name and made.memory_limit == "4g"
    assert raw["expires_after"] == {"anchor": "last_active_at", "minutes": 5}
    assert raw["network_policy"] == {"type": "allowlist", "allowed_domains": ["pypi.org"]}  # no secrets
    assert made.last_active_at == made.created_at
    got = client.containers.retrieve(made.id)
    assert got.id == made.id and got.status == "running"
    conforms(ContainerRetrieveResponse, http.get(f"/v1/containers/{made.id}").json())
    # the defaults OpenAI documents
    plain = client.containers.create(name=name)
    assert plain.memory_limit == "1g" and plain.expires_after and plain.expires_after.minutes == 20
    third = client.containers.create(name=name)
    # cursor pages, filtered by name, in both orders
    listed = http.get("/v1/containers", params={"name": name, "limit": 2, "order": "asc"}).json()
    assert [c["id"] for c in listed["data"]] == [made.id, plain.id] and listed["has_more"]
    for c in listed["data"]:
        conforms(ContainerListResponse, c)
    rest = client.containers.list(name=name, order="asc", after=plain.id)
    assert [c.id for c in rest.data] == [third.id] and not rest.has_more
    assert [c.id for c in client.containers.list(name=name)] == [third.id, plain.id, made.id]
    assert client.containers.delete(plain.id) is None
    gone = http.delete(f"/v1/containers/{third.id}")
    assert gone.json() == {"id": third.id, "object": "container.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.containers.retrieve(plain.id)
    assert http.delete(f"/v1/containers/{third.id}").status_code == 404
    assert [c.id for c in client.containers.list(name=name)] == [made.id]


def test_container_files_upload_copy_read_and_delete(client: openai.OpenAI, http: httpx.Client) -> None:
    stored = client.files.create(file=("notes.txt", b"hello container"), purpose="user_data")
    box = client.containers.create(name=unique("files"), file_ids=[stored.id, stored.id])
    (copied,) = client.containers.files.list(box.id)  # a repeated id is copied once
    assert copied.bytes == 15 and copied.source == "user" and copied.container_id == box.id
    assert PATH.fullmatch(copied.path).group(1) == "notes.txt"
    raw = http.post(f"/v1/containers/{box.id}/files", files={"file": ("data.csv", b"a,b\n1,2\n")}).json()
    upload = conforms(FileCreateResponse, raw)
    assert re.fullmatch(r"cfile_[0-9a-f]{32}", upload.id) and upload.object == "container.file"
    assert upload.bytes == 8 and PATH.fullmatch(upload.path).group(1) == "data.csv"
    sdk_upload = client.containers.files.create(box.id, file=("dir/x.py", b"print(1)\n"))
    assert PATH.fullmatch(sdk_upload.path).group(1) == "x.py"
    again = client.containers.files.create(box.id, file_id=stored.id)
    assert again.path != copied.path and again.bytes == 15  # same name, its own path
    content = client.containers.files.content.retrieve(upload.id, container_id=box.id)
    assert content.content == b"a,b\n1,2\n"
    assert (
        client.containers.files.content.retrieve(copied.id, container_id=box.id).content == b"hello container"
    )
    conforms(FileRetrieveResponse, http.get(f"/v1/containers/{box.id}/files/{upload.id}").json())
    assert client.containers.files.retrieve(upload.id, container_id=box.id).path == upload.path
    # cursor pages
    page = http.get(f"/v1/containers/{box.id}/files", params={"limit": 2, "order": "asc"}).json()
    assert [f["id"] for f in page["data"]] == [copied.id, upload.id] and page["has_more"]
    for f in page["data"]:
        conforms(FileListResponse, f)
    tail = client.containers.files.list(box.id, order="asc", after=upload.id)
    assert [f.id for f in tail.data] == [sdk_upload.id, again.id] and not tail.has_more
    # a copy: deleting the stored file leaves the container's copy whole
    client.files.delete(stored.id)
    assert (
        client.containers.files.content.retrieve(again.id, container_id=box.id).content == b"hello container"
    )
    # a file of another container is not this one's
    other = client.containers.create(name=unique("other"))
    assert http.get(f"/v1/containers/{other.id}/files/{upload.id}").status_code == 404
    deleted = http.delete(f"/v1/containers/{box.id}/files/{upload.id}")
    assert deleted.json() == {"id": upload.id, "object": "container.file.deleted", "deleted": True}
    assert client.containers.files.delete(again.id, container_id=box.id) is None
    for path in (f"/files/{upload.id}", f"/files/{upload.id}/content"):
        r = http.get(f"/v1/containers/{box.id}{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert [f.id for f in client.containers.files.list(box.id, order="asc")] == [copied.id, sdk_upload.id]
    # deleting the container deletes its files
    client.containers.delete(box.id)
    assert http.get(f"/v1/containers/{box.id}/files/{copied.id}/content").status_code == 404


def test_code_interpreter_runs_in_real_containers(client: openai.OpenAI, http: httpx.Client) -> None:
    stored = client.files.create(file=("numbers.csv", b"1,2,3\n"), purpose="user_data")
    tool = {
        "type": "code_interpreter",
        "container": {"type": "auto", "memory_limit": "4g", "file_ids": [stored.id]},
    }
    first = client.responses.create(model="gpt-4o", input="Average these", tools=[tool])
    made = first.output[0].container_id
    box = client.containers.retrieve(made)
    assert box.status == "running" and box.memory_limit == "4g" and box.name == "auto"
    assert [PATH.fullmatch(f.path).group(1) for f in client.containers.files.list(made)] == ["numbers.csv"]
    # auto reuses the container of the conversation's last call
    then = client.responses.create(model="gpt-4o", input="Again", previous_response_id=first.id, tools=[CODE])
    assert then.output[0].container_id == made
    fresh = client.responses.create(model="gpt-4o", input="New", tools=[CODE])
    assert fresh.output[0].container_id != made
    # an explicit container is used as it is
    mine = client.containers.create(name=unique("mine"))
    named = client.responses.create(
        model="gpt-4o", input="x", tools=[{"type": "code_interpreter", "container": mine.id}]
    )
    assert named.output[0].container_id == mine.id
    # an unknown container, or one deleted, is a 404 naming the tool's container; so is an unknown file
    client.containers.delete(mine.id)
    for container, param in [
        ("cntr_made_up", "tools[1].container"),
        (mine.id, "tools[1].container"),
        ({"type": "auto", "file_ids": ["file-nope"]}, "tools[1].container.file_ids"),
    ]:
        body = {
            "model": "gpt-4o",
            "input": "x",
            "tools": [{"type": "web_search"}, {"type": "code_interpreter", "container": container}],
        }
        r = http.post("/v1/responses", json=body)
        assert r.status_code == 404 and r.json()["error"]["param"] == param, r.text
        assert http.post("/v1/responses", json={**body, "stream": True}).status_code == 404
    # a tool the model does not call is not looked at
    quiet = {"type": "code_interpreter", "container": "cntr_made_up"}
    assert client.responses.create(model="gpt-4o", input="x", tools=[quiet], tool_choice="none").output


def test_an_expired_container_keeps_its_metadata_and_loses_its_files(start_server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        start_server("--data-dir", str(data), "--ttft", "0", "--itl", "0") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        box = client.containers.create(name="short", expires_after={"anchor": "last_active_at", "minutes": 1})
        kept = client.containers.files.create(box.id, file=("a.txt", b"bytes"))
        first = client.responses.create(model="gpt-4o", input="x", tools=[CODE])
        auto = first.output[0].container_id
        store = SQLiteStore(data)
        for cid in (box.id, auto):  # an hour without activity
            container = store.get(KIND, cid)
            assert container is not None
            store.update(KIND, {**container, "last_active_at": container["last_active_at"] - 3600})
        blob = data / "blobs" / kept.id
        assert blob.exists()
        seen = client.containers.retrieve(box.id)
        assert seen.status == "expired" and seen.last_active_at == box.last_active_at - 3600
        assert client.containers.retrieve(box.id).status == "expired"  # retrieving does not revive it
        assert {c.id: c.status for c in client.containers.list()}[auto] == "expired"
        assert not blob.exists() and store.all(FILE_KIND, tag=box.id) == []
        for method, path, kwargs in [
            ("GET", "/files", {}),
            ("GET", f"/files/{kept.id}", {}),
            ("GET", f"/files/{kept.id}/content", {}),
            ("POST", "/files", {"files": {"file": ("b.txt", b"x")}}),
        ]:
            r = http.request(method, f"/v1/containers/{box.id}{path}", **kwargs)
            assert r.status_code == 400 and r.json()["error"]["message"] == "Container is expired.", r.text
        explicit = {"type": "code_interpreter", "container": box.id}
        r = http.post("/v1/responses", json={"model": "gpt-4o", "input": "x", "tools": [explicit]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "tools[0].container"
        # auto reusing the conversation's expired container: OpenAI's 400
        with pytest.raises(openai.BadRequestError, match="Container is expired"):
            client.responses.create(model="gpt-4o", input="y", previous_response_id=first.id, tools=[CODE])
        client.containers.delete(box.id)
        with pytest.raises(openai.NotFoundError):
            client.containers.retrieve(box.id)


def _stored_file(store: SQLiteStore, data: bytes) -> str:
    file_id = f"file-{uuid.uuid4().hex[:24]}"
    writer = store.blob_writer()
    writer.write(data)
    store.commit_blob(writer, file_id)
    store.insert(
        "file", file_object(file_id, "a.txt", len(data), "user_data"), tag="user_data", size=len(data)
    )
    return file_id


def test_the_sweep_deletes_files_of_expired_and_dropped_containers(tmp_path: Path, monkeypatch) -> None:
    store = SQLiteStore(tmp_path)
    box = Containers(store, Settings())
    file_id = _stored_file(store, b"data")
    short = box.create("short", minutes=1, file_ids=[file_id])
    long = box.create("long", minutes=60, file_ids=[file_id])
    dropped = box.create("dropped", minutes=60, file_ids=[file_id])
    store.delete(KIND, dropped["id"])  # as the expiring budget drops the oldest
    copies = {f["container_id"]: f["id"] for f in store.all(FILE_KIND)}
    assert box.sweep() == 1  # the dropped container's file
    assert not store.blob_path(copies[dropped["id"]]).exists()
    assert box.sweep() == 0  # each file is leased until its container's expiry: nothing to look at
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    assert box.sweep() == 1  # two minutes on, the short one has expired
    assert store.get(KIND, short["id"])["status"] == "expired"
    assert not store.blob_path(copies[short["id"]]).exists()
    assert store.blob_path(copies[long["id"]]).exists() and store.blob_path(file_id).exists()
    assert [f["id"] for f in store.all(FILE_KIND)] == [copies[long["id"]]]


def test_two_workers_see_the_same_containers(start_server) -> None:
    with start_server("--workers", "2", "--ttft", "0", "--itl", "0") as url:

        def fresh() -> httpx.Client:  # a new connection each time: both workers answer some
            return httpx.Client(base_url=url, timeout=10)

        with fresh() as c:
            box = c.post("/v1/containers", json={"name": "shared"}).json()
            c.post(f"/v1/containers/{box['id']}/files", files={"file": ("a.txt", b"shared bytes")})
            body = {"model": "gpt-4o", "input": "x", "tools": [CODE]}
            auto = c.post("/v1/responses", json=body).json()["output"][0]["container_id"]
        for _ in range(8):
            with fresh() as c:
                assert c.get(f"/v1/containers/{auto}").json()["status"] == "running"
                (file,) = c.get(f"/v1/containers/{box['id']}/files").json()["data"]
                assert (
                    c.get(f"/v1/containers/{box['id']}/files/{file['id']}/content").content == b"shared bytes"
                )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"name": 5}, "name"),
        ({"name": "a", "memory_limit": "2g"}, "memory_limit"),
        ({"name": "a", "expires_after": {"anchor": "created_at", "minutes": 5}}, "expires_after.anchor"),
        ({"name": "a", "expires_after": {"anchor": "last_active_at", "minutes": 0}}, "expires_after.minutes"),
        (
            {"name": "a", "expires_after": {"anchor": "last_active_at", "minutes": 10**9}},
            "expires_after.minutes",
        ),
        ({"name": "a", "expires_after": {"anchor": "last_active_at"}}, "expires_after.minutes"),
        ({"name": "a", "file_ids": ["f"] * 51}, "file_ids"),
        ({"name": "a", "file_ids": [""]}, "file_ids[0]"),
        ({"name": "a", "network_policy": {"type": "open"}}, "network_policy.type"),
        ({"name": "a", "network_policy": {"type": "allowlist"}}, "network_policy.allowed_domains"),
        (
            {"name": "a", "network_policy": {"type": "allowlist", "allowed_domains": ["not a host"]}},
            "network_policy.allowed_domains",
        ),
        ({"name": "a", "skills": [{"type": "skill_reference"}]}, "skills[0].skill_id"),
        ({"name": "a", "skills": [{"type": "other"}]}, "skills[0].type"),
        ({"name": "a", "skills": [{"type": "skill_reference", "skill_id": "s"}] * 33}, "skills"),
        (
            {
                "name": "a",
                "skills": [
                    {
                        "type": "inline",
                        "name": "n",
                        "description": "d",
                        "source": {"type": "base64", "media_type": "application/zip", "data": "@@@"},
                    }
                ],
            },
            "skills[0].source.data",
        ),
        ({"name": "a", "bogus": 1}, "bogus"),
    ],
)
def test_bad_creates_are_400s_naming_the_param(http: httpx.Client, body: dict, param: str) -> None:
    r = http.post("/v1/containers", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"], error


def test_bad_lists_and_files_are_4xx_envelopes(http: httpx.Client) -> None:
    for query in ({"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"order": "up"}):
        r = http.get("/v1/containers", params=query)
        assert r.status_code == 400 and r.json()["error"]["param"] in ("limit", "order"), r.text
    box = http.post("/v1/containers", json={"name": unique("bad")}).json()["id"]
    r = http.get(f"/v1/containers/{box}/files", params={"limit": "101"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"
    for body, status, param in [
        ({}, 400, "file_id"),
        ({"file_id": "file-nope"}, 404, "file_id"),
        ({"file_id": 3}, 400, "file_id"),
        ({"file_id": "f", "extra": 1}, 400, "extra"),
    ]:
        r = http.post(f"/v1/containers/{box}/files", json=body)
        assert r.status_code == status and r.json()["error"]["param"] == param, r.text
    r = http.post(f"/v1/containers/{box}/files", files={"other": ("a.txt", b"x")})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    r = http.post(f"/v1/containers/{box}/files", files={"file": ("x" * 300, b"x")})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    for path in (
        "/v1/containers/cntr_nope",
        "/v1/containers/cntr_nope/files",
        "/v1/containers/cntr_nope/files/cfile_x",
    ):
        r = http.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_files_are_bounded_by_the_servers_file_limits(start_server) -> None:
    # 2000 bytes: the 1000 of the first file, and the records' JSON (its own, the seeded organization)
    flags = ("--max-file-bytes", "1000", "--max-storage-bytes", "2000", "--ttft", "0", "--itl", "0")
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=10) as http:
        box = http.post("/v1/containers", json={"name": "small"}).json()["id"]
        r = http.post(f"/v1/containers/{box}/files", files={"file": ("big.bin", b"x" * 1001)})
        assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large", r.text
        assert (
            http.post(f"/v1/containers/{box}/files", files={"file": ("a.bin", b"x" * 1000)}).status_code
            == 200
        )
        r = http.post(f"/v1/containers/{box}/files", files={"file": ("b.bin", b"x" * 600)})
        assert r.status_code == 400 and r.json()["error"]["code"] == "storage_quota_exceeded", r.text
        assert len(http.get(f"/v1/containers/{box}/files").json()["data"]) == 1


def test_repeated_code_interpreter_calls_do_not_use_up_the_storage_quota(start_server) -> None:
    """A linked copy of a stored file shares its bytes on disk: it costs nothing against
    ``--max-storage-bytes`` while the file is stored, and its own size once the file is deleted."""
    flags = ("--max-storage-bytes", "2000000", "--ttft", "0", "--itl", "0")
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=10) as http:
        big = http.post(
            "/v1/files", data={"purpose": "user_data"}, files={"file": ("big.bin", b"x" * 500_000)}
        )
        file_id = big.json()["id"]
        tool = {"type": "code_interpreter", "container": {"type": "auto", "file_ids": [file_id]}}
        made = []
        for _ in range(6):
            r = http.post("/v1/responses", json={"model": "gpt-4o", "input": "Average", "tools": [tool]})
            assert r.status_code == 200, r.text
            made.append(r.json()["output"][0]["container_id"])
        assert len(set(made)) == 6
        small = http.post("/v1/files", data={"purpose": "user_data"}, files={"file": ("s.txt", b"y" * 1000)})
        assert small.status_code == 200, small.text
        # the file deleted, its copies hold its bytes on disk: they count now (and keep it from uploads)
        assert http.delete(f"/v1/files/{file_id}").status_code == 200
        r = http.post("/v1/files", data={"purpose": "user_data"}, files={"file": ("m.bin", b"z" * 600_000)})
        assert r.status_code == 400 and r.json()["error"]["code"] == "storage_quota_exceeded", r.text
        for cid in made:  # deleting the containers gives the bytes back
            assert http.delete(f"/v1/containers/{cid}").status_code == 200
        r = http.post("/v1/files", data={"purpose": "user_data"}, files={"file": ("m.bin", b"z" * 600_000)})
        assert r.status_code == 200, r.text


def test_a_container_in_use_outlives_stored_responses(start_server) -> None:
    """The expiring budget drops the least recently used first: a container retrieved now and then
    stays, with its file, while plain stored responses push older ones out."""
    flags = ("--max-expiring-bytes", "300000", "--ttft", "0", "--itl", "0")
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=10) as http:
        box = http.post("/v1/containers", json={"name": "busy"}).json()["id"]
        file = http.post(f"/v1/containers/{box}/files", files={"file": ("a.txt", b"kept")}).json()["id"]
        idle = http.post("/v1/containers", json={"name": "idle"}).json()["id"]
        first = None
        for i in range(200):
            r = http.post("/v1/responses", json={"model": "gpt-4o", "input": f"Say something {i}"})
            assert r.status_code == 200, r.text
            first = first or r.json()["id"]
            if i % 20 == 19:
                assert http.get(f"/v1/containers/{box}").status_code == 200, i
        assert http.get(f"/v1/responses/{first}").status_code == 404  # the budget was passed
        assert http.get(f"/v1/containers/{idle}").status_code == 404  # the unused one went
        assert http.get(f"/v1/containers/{box}").json()["status"] == "running"
        assert http.get(f"/v1/containers/{box}/files/{file}/content").content == b"kept"


def test_the_sweep_deletes_the_files_of_a_container_the_budget_dropped(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    box = Containers(store, Settings(max_expiring_bytes=4000))
    file_id = _stored_file(store, b"data")
    made = box.create("soon dropped", minutes=60, file_ids=[file_id])
    (copy,) = store.all(FILE_KIND, tag=made["id"])
    assert box.sweep() == 0  # looked at: its container runs for an hour
    for i in range(40):  # stored responses push the container out of the budget
        store.insert_expiring([("response", {"id": f"resp_{i}", "text": "x" * 200})], 4000)
    assert store.get(KIND, made["id"]) is None
    assert box.sweep() == 1
    assert store.all(FILE_KIND) == [] and not store.blob_path(copy["id"]).exists()
    assert store.blob_path(file_id).exists()


def test_auto_reusing_a_container_adds_the_new_calls_files(client: openai.OpenAI, http: httpx.Client) -> None:
    one = client.files.create(file=("one.csv", b"1\n"), purpose="user_data")
    two = client.files.create(file=("two.csv", b"2\n"), purpose="user_data")

    def tool(*file_ids: str, memory: str = "4g") -> dict:
        return {
            "type": "code_interpreter",
            "container": {"type": "auto", "memory_limit": memory, "file_ids": list(file_ids)},
        }

    first = client.responses.create(model="gpt-4o", input="x", tools=[tool(one.id)])
    made = first.output[0].container_id
    then = client.responses.create(
        model="gpt-4o", input="y", previous_response_id=first.id, tools=[tool(one.id, two.id, memory="16g")]
    )
    assert then.output[0].container_id == made
    names = sorted(PATH.fullmatch(f.path).group(1) for f in client.containers.files.list(made))
    assert names == ["one.csv", "two.csv"]  # each file once: one.csv was there already
    assert client.containers.retrieve(made).memory_limit == "4g"  # a live container keeps its memory
    # an unknown file is a 404 naming it, and adds nothing
    body = {
        "model": "gpt-4o",
        "input": "z",
        "previous_response_id": then.id,
        "tools": [tool(two.id, "file-nope")],
    }
    r = http.post("/v1/responses", json=body)
    assert r.status_code == 404 and r.json()["error"]["param"] == "tools[0].container.file_ids", r.text
    listed = http.get(f"/v1/containers/{made}/files").json()["data"]
    assert len(listed) == 2 and all(set(f) == set(listed[0]) for f in listed)
    assert set(listed[0]) == {"id", "object", "created_at", "bytes", "container_id", "path", "source"}
