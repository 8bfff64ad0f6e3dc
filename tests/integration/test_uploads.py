"""``/v1/uploads`` through the official SDK: parts assembled in the named order, md5, cancel, errors."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import socket
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from starlette.testclient import TestClient

pytestmark = pytest.mark.integration


def test_parts_are_assembled_in_the_given_order(client: openai.OpenAI) -> None:
    chunks = [os.urandom(50_000), os.urandom(70_000), os.urandom(10)]
    whole = b"".join(chunks)
    upload = client.uploads.create(
        bytes=len(whole), filename="big.bin", mime_type="application/octet-stream", purpose="assistants"
    )
    assert upload.status == "pending" and upload.object == "upload" and upload.expires_at > upload.created_at
    parts = [client.uploads.parts.create(upload.id, data=c) for c in reversed(chunks)][::-1]
    assert parts[0].object == "upload.part" and parts[0].upload_id == upload.id
    done = client.uploads.complete(
        upload.id, part_ids=[p.id for p in parts], md5=hashlib.md5(whole).hexdigest()
    )
    assert done.status == "completed" and done.file.bytes == len(whole) and done.file.filename == "big.bin"
    assert client.files.content(done.file.id).read() == whole


def test_bad_uploads(client: openai.OpenAI, http: httpx.Client) -> None:
    upload = client.uploads.create(bytes=4, filename="x", mime_type="text/plain", purpose="user_data")
    part = client.uploads.parts.create(upload.id, data=b"abc")
    with pytest.raises(openai.BadRequestError, match="3 bytes"):
        client.uploads.complete(upload.id, part_ids=[part.id])
    with pytest.raises(openai.BadRequestError, match="Unknown part"):
        client.uploads.complete(upload.id, part_ids=["part_nope"])
    part2 = client.uploads.parts.create(upload.id, data=b"d")
    with pytest.raises(openai.BadRequestError) as exc:
        client.uploads.complete(upload.id, part_ids=[part.id, part2.id], md5="0" * 32)
    assert exc.value.body["param"] == "md5"
    assert client.uploads.cancel(upload.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="cancelled"):
        client.uploads.cancel(upload.id)
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(upload.id, data=b"late")
    with pytest.raises(openai.NotFoundError):
        client.uploads.parts.create("upload_nope", data=b"x")
    with pytest.raises(openai.NotFoundError):
        client.uploads.complete("upload_nope", part_ids=[])
    with pytest.raises(openai.BadRequestError) as exc:
        client.uploads.create(bytes=0, filename="x", mime_type="text/plain", purpose="user_data")
    assert exc.value.body["param"] == "bytes"
    with pytest.raises(openai.BadRequestError) as exc:
        client.uploads.create(bytes=1, filename="x", mime_type="text/plain", purpose="nope")
    assert exc.value.body["param"] == "purpose"
    r = http.post("/v1/uploads", json={"bytes": 1})
    assert r.status_code == 400 and r.json()["error"]["param"] == "filename"


def test_batch_upload_is_validated_on_complete(client: openai.OpenAI) -> None:
    body = b"not json\n"
    upload = client.uploads.create(
        bytes=len(body), filename="b.jsonl", mime_type="text/jsonl", purpose="batch"
    )
    part = client.uploads.parts.create(upload.id, data=body)
    with pytest.raises(openai.BadRequestError, match="line 1"):
        client.uploads.complete(upload.id, part_ids=[part.id])
    assert client.uploads.cancel(upload.id).status == "cancelled"


def test_an_upload_over_half_the_remaining_quota_completes(start_server) -> None:
    # Parts (800 bytes) and the assembled file (800) are not both counted against 2000 bytes (of
    # which the records' JSON, the upload's, its parts' and the seeded organization's, take ~1000).
    with start_server("--max-storage-bytes", "2000") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            chunks = [os.urandom(400), os.urandom(400)]
            upload = client.uploads.create(
                bytes=800, filename="a.bin", mime_type="application/octet-stream", purpose="assistants"
            )
            parts = [client.uploads.parts.create(upload.id, data=c) for c in chunks]
            done = client.uploads.complete(upload.id, part_ids=[p.id for p in parts])
            assert done.status == "completed" and client.files.content(done.file.id).read() == b"".join(
                chunks
            )
            # the quota still holds: 800 + 600 > 2000 - 1000
            with pytest.raises(openai.BadRequestError) as err:
                client.files.create(file=("b.bin", os.urandom(600)), purpose="assistants")
            assert err.value.body["code"] == "storage_quota_exceeded"


def part_body(data: bytes) -> bytes:
    """A multipart body holding one upload part, boundary ``XbX``."""
    head = b'--XbX\r\nContent-Disposition: form-data; name="data"; filename="blob"\r\n\r\n'
    return head + data + b"\r\n--XbX--\r\n"


PART_HEADERS = {"content-type": "multipart/form-data; boundary=XbX"}


def new_upload(http: httpx.Client | TestClient, size: int) -> str:
    body = {
        "bytes": size,
        "filename": "a.bin",
        "mime_type": "application/octet-stream",
        "purpose": "assistants",
    }
    return http.post("/v1/uploads", json=body).json()["id"]


def test_complete_and_cancel_at_once_exclude_each_other(base_url: str) -> None:
    # complete assembles the parts while cancel would drop them: exactly one of the two wins, the other
    # is a 400 for an upload no longer pending, and neither is ever a 500.
    chunks = [bytes([65 + i]) * 6_000_000 for i in range(3)]
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for trial in range(4):
            upload_id = new_upload(http, sum(map(len, chunks)))
            part_ids = [
                http.post(
                    f"/v1/uploads/{upload_id}/parts", content=part_body(c), headers=PART_HEADERS
                ).json()["id"]
                for c in chunks
            ]
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                complete = pool.submit(
                    http.post, f"/v1/uploads/{upload_id}/complete", json={"part_ids": part_ids}
                )
                time.sleep(0.005 * trial)
                cancel = pool.submit(http.post, f"/v1/uploads/{upload_id}/cancel")
                answers = {"complete": complete.result(), "cancel": cancel.result()}
            statuses = {name: r.status_code for name, r in answers.items()}
            assert sorted(statuses.values()) == [200, 400], (
                trial,
                {n: r.text[:300] for n, r in answers.items()},
            )
            loser = next(r for r in answers.values() if r.status_code == 400)
            assert loser.json()["error"]["code"] == "invalid_upload_state"
            final = http.get(f"/v1/uploads/{upload_id}").json()
            if statuses["complete"] == 200:
                assert final["status"] == "completed"
                assert http.get(f"/v1/files/{final['file']['id']}/content").content == b"".join(chunks)
            else:
                assert final["status"] == "cancelled" and final["file"] is None


def test_a_part_that_arrives_after_complete_is_refused(base_url: str) -> None:
    # The part was accepted while the upload was pending, but its body ended after complete: it is
    # refused (and not kept, counted against the quota forever) instead of answered with a 200.
    port = int(base_url.rsplit(":", 1)[1])
    with httpx.Client(base_url=base_url, timeout=10) as http:
        upload_id = new_upload(http, 5)
        first = http.post(f"/v1/uploads/{upload_id}/parts", content=part_body(b"abcde"), headers=PART_HEADERS)
        late = part_body(b"Z" * 200_000)
        head = (
            f"POST /v1/uploads/{upload_id}/parts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(late)}\r\n"
            "Content-Type: multipart/form-data; boundary=XbX\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head + late[:1000])
            time.sleep(0.3)  # the server has checked the upload is pending and reads the part
            done = http.post(f"/v1/uploads/{upload_id}/complete", json={"part_ids": [first.json()["id"]]})
            assert done.json()["status"] == "completed"
            s.sendall(late[1000:])
            answer = b""
            while not answer.endswith(b"}") and (chunk := s.recv(65536)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
        assert b'"invalid_upload_state"' in answer


class Clock:
    """``time`` for the uploads module, running ``ahead`` seconds in the future."""

    ahead = 0.0

    @classmethod
    def time(cls) -> float:
        return time.time() + cls.ahead


@pytest.fixture()
def local(tmp_path, monkeypatch) -> Iterator[TestClient]:
    """The app in this process (its uploads module's clock and limits patchable), 1 MB of storage."""
    from fakeai.api import uploads
    from fakeai.app import create_app
    from fakeai.settings import Settings

    monkeypatch.setattr(Clock, "ahead", 0.0)
    monkeypatch.setattr(uploads, "time", Clock)
    app = create_app(Settings(data_dir=str(tmp_path), max_storage_bytes=1_000_000))

    async def asgi(scope, receive, send):
        await app(scope, receive, send)

    with TestClient(asgi) as client:
        yield client


def test_expired_uploads_give_their_parts_back(local: TestClient) -> None:
    def fill() -> str:  # an upload whose part holds 80% of the storage
        upload_id = new_upload(local, 1_000_000)
        assert (
            local.post(f"/v1/uploads/{upload_id}/parts", files={"data": ("b", b"p" * 800_000)}).status_code
            == 200
        )
        return upload_id

    def store_a_file():  # a response of the test client's own httpx
        return local.post("/v1/files", files={"file": ("f", b"f" * 500_000)}, data={"purpose": "user_data"})

    touched = fill()
    assert store_a_file().json()["error"]["code"] == "storage_quota_exceeded"
    Clock.ahead += 3601
    assert local.get(f"/v1/uploads/{touched}").json()["status"] == "expired"  # touching it reclaims the part
    error = local.post(f"/v1/uploads/{touched}/cancel").json()["error"]
    assert error["code"] == "invalid_upload_state" and "expired" in error["message"]
    first = store_a_file()
    assert first.status_code == 200, first.text
    local.delete(f"/v1/files/{first.json()['id']}")

    forgotten = fill()  # never touched again: creating another upload sweeps it
    Clock.ahead += 3601
    new_upload(local, 1)
    assert store_a_file().status_code == 200
    assert local.get(f"/v1/uploads/{forgotten}").json()["status"] == "expired"


def test_parts_per_upload_are_bounded(local: TestClient, monkeypatch) -> None:
    # Empty parts cost no storage quota: the bound on their number is what keeps them finite.
    from fakeai.api import uploads

    monkeypatch.setattr(uploads, "MAX_PARTS", 3, raising=False)
    upload_id = new_upload(local, 1)

    def add(data: bytes):  # a response of the test client's own httpx
        return local.post(f"/v1/uploads/{upload_id}/parts", files={"data": ("b", data)})

    ids = [add(b"").json()["id"] for _ in range(3)]
    over = add(b"x")
    assert over.status_code == 400 and over.json()["error"]["code"] == "too_many_parts", over.text
    assert "3 parts" in over.json()["error"]["message"]
    monkeypatch.setattr(uploads, "MAX_PARTS", 4)  # one more fits: the refused part took no place
    last = add(b"y")
    assert last.status_code == 200, last.text
    done = local.post(f"/v1/uploads/{upload_id}/complete", json={"part_ids": [*ids, last.json()["id"]]})
    assert done.json()["status"] == "completed", done.text


def test_unknown_part_ids_are_named_up_to_a_few(http: httpx.Client) -> None:
    upload_id = new_upload(http, 1)
    names = [f"part_{i:05d}" for i in range(5000)]
    error = http.post(f"/v1/uploads/{upload_id}/complete", json={"part_ids": names}).json()["error"]
    assert error["param"] == "part_ids" and "part_00000" in error["message"]
    assert "and 4995 more" in error["message"] and len(error["message"]) < 300, error["message"][:400]
