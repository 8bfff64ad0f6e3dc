"""``/v1/uploads`` through the official SDK: parts assembled in the named order, md5, cancel, errors."""

from __future__ import annotations

import hashlib
import os

import httpx
import openai
import pytest

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
    # Parts (600 bytes) and the assembled file (600) are not both counted against 1000 bytes.
    with start_server("--max-storage-bytes", "1000") as url:
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0) as client:
            chunks = [os.urandom(300), os.urandom(300)]
            upload = client.uploads.create(
                bytes=600, filename="a.bin", mime_type="application/octet-stream", purpose="assistants"
            )
            parts = [client.uploads.parts.create(upload.id, data=c) for c in chunks]
            done = client.uploads.complete(upload.id, part_ids=[p.id for p in parts])
            assert done.status == "completed" and client.files.content(done.file.id).read() == b"".join(
                chunks
            )
            with pytest.raises(openai.BadRequestError) as err:  # the quota still holds: 600 + 600 > 1000
                client.files.create(file=("b.bin", os.urandom(600)), purpose="assistants")
            assert err.value.body["code"] == "storage_quota_exceeded"
