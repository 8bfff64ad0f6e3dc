"""The Skills API (:mod:`fakeai.api.skills`, :mod:`fakeai.engine.skills`, :mod:`fakeai.engine.skill_bundle`)
through the official SDK: skills made from a folder or a zip, their versions, default and latest
versions, the stored zip served back, two workers agreeing, containers referencing skills, and bad
bundles (zip bombs, traversal, no SKILL.md, oversized) refused cheaply as 4xx envelopes."""

from __future__ import annotations

import base64
import io
import random
import struct
import time
import zipfile

import httpx
import openai
import pytest
from openai.types import DeletedSkill, Skill
from openai.types.skills import DeletedSkillVersion, SkillVersion

from .test_contract import conforms

pytestmark = pytest.mark.integration


def manifest(name: str = "basic-math", description: str = "Add or multiply numbers.") -> bytes:
    return f"---\nname: {name}\ndescription: {description}\n---\n\nUse this skill for sums.\n".encode()


def zipped(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as z:
        for path, data in files.items():
            z.writestr(path, data)
    return out.getvalue()


def exact(sdk_type: type, raw: dict) -> None:
    """``raw`` parses as ``sdk_type`` and holds exactly its fields (nothing private leaks)."""
    conforms(sdk_type, raw)
    assert set(raw) == set(sdk_type.model_fields), set(raw) ^ set(sdk_type.model_fields)


@pytest.fixture(scope="module")
def two(start_server):
    with (
        start_server("--ttft", "0", "--itl", "0", "--workers", "2") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as c,
        httpx.Client(base_url=url, timeout=20) as h,
    ):
        yield c, h


def test_a_folder_upload_makes_a_skill_as_the_sdk_types_declare(two) -> None:
    client, http = two
    skill = client.skills.create(
        files=[("basic_math/SKILL.md", manifest()), ("basic_math/calc.py", b"print(1 + 1)\n")]
    )
    assert skill.id.startswith("skill_") and skill.object == "skill"
    assert (skill.name, skill.description) == ("basic-math", "Add or multiply numbers.")
    assert skill.default_version == skill.latest_version == "1"
    raw = http.get(f"/v1/skills/{skill.id}").json()
    exact(Skill, raw)
    for _ in range(4):  # every worker sees it
        assert client.skills.retrieve(skill.id).id == skill.id
    bundle = client.skills.content.retrieve(skill.id)
    with zipfile.ZipFile(io.BytesIO(bundle.read())) as z:
        assert sorted(z.namelist()) == ["basic_math/SKILL.md", "basic_math/calc.py"]
        assert z.read("basic_math/calc.py") == b"print(1 + 1)\n"
    assert http.get(f"/v1/skills/{skill.id}/content").headers["content-type"] == "application/zip"
    gone = http.delete(f"/v1/skills/{skill.id}").json()
    exact(DeletedSkill, gone)
    assert gone == {"id": skill.id, "object": "skill.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.skills.retrieve(skill.id)
    assert http.get(f"/v1/skills/{skill.id}/versions/1/content").status_code == 404


def test_versions_default_and_latest(two) -> None:
    client, http = two
    first = zipped({"tool/SKILL.md": manifest("tool", "First."), "tool/a.txt": b"a"})
    skill = client.skills.create(files=("tool.zip", first, "application/zip"))
    assert client.skills.content.retrieve(skill.id).read() == first  # the stored bytes, as uploaded
    second = zipped({"tool/SKILL.md": manifest("tool-two", "Second.")})
    v2 = client.skills.versions.create(skill.id, files=("tool.zip", second))
    exact(SkillVersion, http.get(f"/v1/skills/{skill.id}/versions/2").json())
    assert (v2.version, v2.skill_id, v2.name, v2.description) == ("2", skill.id, "tool-two", "Second.")
    now = client.skills.retrieve(skill.id)
    assert (now.default_version, now.latest_version, now.name) == ("1", "2", "tool")
    v3 = client.skills.versions.create(skill.id, files=("tool.zip", second), default=True)
    now = client.skills.retrieve(skill.id)
    assert (now.default_version, now.latest_version, now.name) == ("3", "3", "tool-two")
    updated = client.skills.update(skill.id, default_version="1")
    assert updated.default_version == "1" and updated.name == "tool" and updated.description == "First."
    exact(Skill, http.post(f"/v1/skills/{skill.id}", json={"default_version": "latest"}).json())
    assert client.skills.retrieve(skill.id).default_version == "3"
    client.skills.update(skill.id, default_version="1")
    # pages of versions, newest first, and in ascending order
    listed = client.skills.versions.list(skill.id, limit=2)
    assert [v.version for v in listed.data] == ["3", "2"] and listed.has_more
    assert [v.version for v in client.skills.versions.list(skill.id, order="asc")] == ["1", "2", "3"]
    assert [v.version for v in client.skills.versions.list(skill.id, limit=1)] == ["3", "2", "1"]
    assert client.skills.versions.retrieve("latest", skill_id=skill.id).version == "3"
    assert client.skills.versions.content.retrieve("2", skill_id=skill.id).read() == second
    # the default version stays; deleting the latest moves latest_version down
    with pytest.raises(openai.BadRequestError):
        client.skills.versions.delete("1", skill_id=skill.id)
    deleted = client.skills.versions.delete(v3.version, skill_id=skill.id)
    assert (deleted.deleted, deleted.version, deleted.object) == (True, "3", "skill.version.deleted")
    exact(DeletedSkillVersion, http.delete(f"/v1/skills/{skill.id}/versions/2").json())
    assert client.skills.retrieve(skill.id).latest_version == "1"
    with pytest.raises(openai.NotFoundError):
        client.skills.versions.retrieve("3", skill_id=skill.id)
    assert client.skills.versions.create(skill.id, files=("t.zip", second)).version == "4"  # never reused
    client.skills.delete(skill.id)


def test_skills_list_in_cursor_pages(two) -> None:
    client, http = two
    made = [client.skills.create(files=[("s/SKILL.md", manifest(f"s{i}"))]).id for i in range(3)]
    page = http.get("/v1/skills", params={"limit": 2}).json()
    assert page["object"] == "list" and len(page["data"]) == 2 and page["has_more"] is True
    for raw in page["data"]:
        exact(Skill, raw)
    ids = [s.id for s in client.skills.list(limit=1)]
    assert ids[:3] == made[::-1]
    assert [s.id for s in client.skills.list(order="asc")][-3:] == made


def test_containers_reference_stored_skills(two) -> None:
    client, http = two
    skill = client.skills.create(files=[("s/SKILL.md", manifest())])
    ok = http.post(
        "/v1/containers",
        json={
            "name": "c",
            "skills": [{"type": "skill_reference", "skill_id": skill.id, "version": "latest"}],
        },
    )
    assert ok.status_code == 200 and "skills" not in ok.json()  # the SDK's container types show none
    inline = {
        "type": "inline",
        "name": "n",
        "description": "d",
        "source": {
            "type": "base64",
            "media_type": "application/zip",
            "data": base64.b64encode(zipped({"s/SKILL.md": manifest()})).decode(),
        },
    }
    assert http.post("/v1/containers", json={"name": "c", "skills": [inline]}).status_code == 200
    for ref, status, param in [
        ({"skill_id": "skill_nope"}, 404, "skills[0].skill_id"),
        ({"skill_id": skill.id, "version": "7"}, 404, "skills[0].version"),
        ({"skill_id": skill.id, "version": "seven"}, 400, "skills[0].version"),
    ]:
        r = http.post("/v1/containers", json={"name": "c", "skills": [{"type": "skill_reference", **ref}]})
        assert r.status_code == status and r.json()["error"]["param"] == param, r.text
    bad = {**inline, "source": {**inline["source"], "data": base64.b64encode(b"not a zip").decode()}}
    r = http.post("/v1/containers", json={"name": "c", "skills": [bad]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "skills[0].source.data", r.text


def bomb() -> bytes:
    """A zip whose one member declares 10 GB (zeros compress ~1000:1; the header says the rest)."""
    data = zipped({"s/SKILL.md": manifest(), "s/zeros": b"\0" * (1 << 20)})
    # rewrite the declared size of "s/zeros" in both headers: the server must refuse on the declaration
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.rfind(sig)
        struct.pack_into("<L", out, at + offset, 0xFFFFFFFE)
    return bytes(out)


def corrupt() -> bytes:
    """A stored (uncompressed) zip with one byte of a member changed: its CRC no longer matches."""
    data = zipped({"s/SKILL.md": manifest(), "s/a.txt": b"hello world"}, zipfile.ZIP_STORED)
    return data.replace(b"hello world", b"hello World")


def many_entries() -> bytes:
    return zipped({"s/SKILL.md": manifest(), **{f"s/{i}": b"" for i in range(1200)}}, zipfile.ZIP_STORED)


@pytest.mark.parametrize(
    ("files", "status", "needle"),
    [
        ([("s/notes.md", b"hi")], 400, "SKILL.md"),
        ([("s/SKILL.md", b"no front matter")], 400, "front matter"),
        ([("s/SKILL.md", b"---\nname: x\n---\n")], 400, "description"),
        ([("s/SKILL.md", manifest("x" * 65))], 400, "64"),
        ([("../SKILL.md", manifest())], 400, "path"),
        ([("s/SKILL.md", manifest()), ("/etc/passwd", b"x")], 400, "path"),
        ([("a/SKILL.md", manifest()), ("b/SKILL.md", manifest())], 400, "top-level"),
        ([("s.zip", b"PK\x03\x04 truncated")], 400, "zip"),
        ([("s.zip", zipped({"../../SKILL.md": manifest()}))], 400, "path"),
        ([("s.zip", zipped({"s/a.txt": b"a"}))], 400, "SKILL.md"),
        ([("s.zip", many_entries())], 400, "500"),
        ([("s.zip", bomb())], 400, "MB"),
        ([("s.zip", corrupt())], 400, "not a valid zip"),
    ],
)
def test_bad_bundles_are_400s_naming_files(two, files, status, needle) -> None:
    client, _ = two
    before = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        client.skills.create(files=files if len(files) > 1 else files[0])
    assert time.monotonic() - before < 5  # refused cheaply
    error = caught.value.body
    assert caught.value.status_code == status and error["param"] == "files", error
    assert needle in error["message"] and error["type"] == "invalid_request_error", error


def test_bad_requests_are_4xx_envelopes(two, start_server) -> None:
    client, http = two
    skill = client.skills.create(files=[("s/SKILL.md", manifest())])
    cases = [
        (http.post("/v1/skills", json={"files": ["x"]}), 400),  # not multipart
        (http.post("/v1/skills", files={"other": ("a", b"a")}), 400),  # no files part
        (http.get("/v1/skills/skill_nope"), 404),
        (http.get("/v1/skills/skill_nope/content"), 404),
        (http.delete("/v1/skills/skill_nope"), 404),
        (http.post("/v1/skills/skill_nope", json={"default_version": "1"}), 404),
        (http.post(f"/v1/skills/{skill.id}", json={"default_version": "9"}), 404),
        (http.post(f"/v1/skills/{skill.id}", json={"default_version": "x"}), 400),
        (http.post(f"/v1/skills/{skill.id}", json={"default_version": "1", "bogus": 1}), 400),
        (http.post(f"/v1/skills/{skill.id}", json={}), 400),
        (http.get(f"/v1/skills/{skill.id}/versions/0"), 400),
        (http.get(f"/v1/skills/{skill.id}/versions/99/content"), 404),
        (http.delete(f"/v1/skills/{skill.id}/versions/99"), 404),
        (http.get("/v1/skills", params={"limit": 0}), 400),
        (http.get("/v1/skills", params={"limit": 101}), 400),
        (http.get("/v1/skills", params={"order": "up"}), 400),
        (http.get(f"/v1/skills/{skill.id}/versions", params={"limit": "x"}), 400),
        (http.get("/v1/skills/skill_nope/versions"), 404),
        (
            http.post(
                f"/v1/skills/{skill.id}/versions",
                data={"default": "maybe"},
                files={"files": ("s.zip", zipped({"s/SKILL.md": manifest()}))},
            ),
            400,
        ),
        (http.post("/v1/skills/skill_nope/versions", files={"files": ("s.zip", b"PK")}), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    # over --max-file-bytes: a 413 while the upload streams; over --max-storage-bytes: 400
    with (
        start_server("--max-file-bytes", "2000", "--max-storage-bytes", "1500") as url,
        httpx.Client(base_url=url, timeout=20) as small,
    ):
        big = [("files[]", ("s/SKILL.md", manifest())), ("files[]", ("s/blob", b"x" * 3000))]
        assert small.post("/v1/skills", files=big).status_code == 413
        noise = random.Random(0).randbytes(1550)  # does not compress: a zip of 1500 to 2000 bytes
        bundle = zipped({"s/SKILL.md": manifest(), "s/n": noise})
        assert 1500 < len(bundle) < 2000
        r = small.post("/v1/skills", files=[("files", ("s.zip", bundle))])
        assert r.status_code == 400 and r.json()["error"]["code"] == "storage_quota_exceeded", r.text
        assert small.get("/v1/skills").json()["data"] == []
