"""``/v1/files`` through the official SDK: round trips, listing, validation, limits, workers, restarts."""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import sqlite3
import time

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

BATCH_LINE = {"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o"}}


def jsonl(*rows: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def envelope(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def test_upload_retrieve_content_delete(client: openai.OpenAI) -> None:
    data = os.urandom(100_000)
    f = client.files.create(file=("blob.bin", data), purpose="user_data")
    assert f.object == "file" and f.id.startswith("file-") and f.bytes == len(data)
    assert f.filename == "blob.bin" and f.purpose == "user_data" and f.status == "processed"
    assert client.files.retrieve(f.id) == f
    assert client.files.content(f.id).read() == data
    deleted = client.files.delete(f.id)
    assert deleted.id == f.id and deleted.deleted and deleted.object == "file"
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(f.id)


def test_list_filters_pages_and_orders(client: openai.OpenAI) -> None:
    ids = [client.files.create(file=(f"{i}.txt", b"x"), purpose="evals").id for i in range(5)]
    listed = [f.id for f in client.files.list(purpose="evals") if f.id in ids]
    assert listed == ids[::-1]
    first = client.files.list(purpose="evals", limit=2, order="asc", after=ids[0])
    assert [f.id for f in first.data] == ids[1:3] and first.has_more
    every = [
        f.id for f in client.files.list(purpose="evals", limit=2, order="asc") if f.id in ids
    ]  # auto-paging
    assert every == ids
    assert all(f.purpose == "batch" for f in client.files.list(purpose="batch"))


def test_batch_and_fine_tune_files_are_validated(client: openai.OpenAI) -> None:
    ok = client.files.create(file=("b.jsonl", jsonl(BATCH_LINE)), purpose="batch")
    assert ok.purpose == "batch"
    example = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    dpo = {
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "preferred_output": [{"role": "assistant", "content": "hello"}],
        "non_preferred_output": [{"role": "assistant", "content": "go away"}],
    }
    assert client.files.create(file=("t.jsonl", jsonl(example, dpo)), purpose="fine-tune").bytes > 0

    bad_batch = jsonl(BATCH_LINE) + b"{not json\n" + jsonl({**BATCH_LINE, "url": "/v1/nope"}, BATCH_LINE)
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.create(file=("b.jsonl", bad_batch), purpose="batch")
    message = exc.value.body["message"]
    assert (
        "line 2" in message and "line 3: url" in message and "line 4: custom_id 'r1' is not unique" in message
    )
    assert exc.value.body["param"] == "file"

    no_answer = {"messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.create(file=("t.jsonl", jsonl(example, no_answer)), purpose="fine-tune")
    assert "line 2: each example needs at least one assistant message" in exc.value.body["message"]
    with pytest.raises(openai.BadRequestError, match="no lines"):
        client.files.create(file=("t.jsonl", b"\n"), purpose="fine-tune")


def test_bad_inputs_answer_the_envelope(http: httpx.Client) -> None:
    error = envelope(http.post("/v1/files", files={"file": ("a", b"x")}, data={"purpose": "nope"}), 400)
    assert error["param"] == "purpose"
    error = envelope(http.post("/v1/files", files={"file": ("a", b"x")}), 400)
    assert error["param"] == "purpose"
    error = envelope(http.post("/v1/files", data={"purpose": "batch"}, files={"other": ("a", b"x")}), 400)
    assert error["param"] == "file"
    envelope(http.post("/v1/files", json={"purpose": "batch"}), 400)
    bad = http.post(
        "/v1/files", content=b"--zz\r\ngarbage", headers={"content-type": "multipart/form-data; boundary=zz"}
    )
    envelope(bad, 400)
    expiring = {"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "5"}
    assert envelope(http.post("/v1/files", files={"file": ("a", b"x")}, data=expiring), 400)["param"] == (
        "expires_after.seconds"
    )
    for method, path in [
        ("GET", "/v1/files/file-nope"),
        ("GET", "/v1/files/file-nope/content"),
        ("DELETE", "/v1/files/file-nope"),
    ]:
        assert envelope(http.request(method, path), 404)["code"] == "not_found"
    assert envelope(http.get("/v1/files", params={"limit": "0"}), 400)["param"] == "limit"
    assert envelope(http.get("/v1/files", params={"order": "up"}), 400)["param"] == "order"


def test_expiry_is_reported(client: openai.OpenAI) -> None:
    f = client.files.create(
        file=("a.txt", b"x"), purpose="user_data", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert f.expires_at == f.created_at + 3600


def test_concurrent_uploads_come_back_byte_identical(client: openai.OpenAI) -> None:
    blobs = [os.urandom(200_000 + i) for i in range(20)]

    def roundtrip(data: bytes) -> bool:
        f = client.files.create(file=("c.bin", io.BytesIO(data)), purpose="assistants")
        return client.files.content(f.id).read() == data

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        assert all(pool.map(roundtrip, blobs))


def test_size_limit_and_quota(start_server) -> None:
    flags = ("--max-file-bytes", "100000", "--max-storage-bytes", "250000")
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=10) as http:
        error = envelope(
            http.post("/v1/files", files={"file": ("a", b"x" * 100_001)}, data={"purpose": "batch"}), 413
        )
        assert error["code"] == "file_too_large"

        def chunks():  # no content-length: the limit must hold while streaming
            yield b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n'
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'
            for _ in range(100):
                yield b"y" * 10_000
            yield b"\r\n--b--\r\n"

        streamed = http.post(
            "/v1/files", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert envelope(streamed, 413)["code"] == "file_too_large"
        for _ in range(2):
            ok = http.post("/v1/files", files={"file": ("a", b"z" * 100_000)}, data={"purpose": "user_data"})
            assert ok.status_code == 200
        full = http.post("/v1/files", files={"file": ("a", b"z" * 100_000)}, data={"purpose": "user_data"})
        assert envelope(full, 400)["code"] == "storage_quota_exceeded"
        http.delete(f"/v1/files/{ok.json()['id']}")
        again = http.post("/v1/files", files={"file": ("a", b"z" * 100_000)}, data={"purpose": "user_data"})
        assert again.status_code == 200


def test_files_past_max_body_bytes_are_bounded_by_max_file_bytes(start_server) -> None:
    flags = ("--max-body-bytes", "10000", "--max-file-bytes", "200000")
    with start_server(*flags) as url, httpx.Client(base_url=url, timeout=10) as http:
        data = os.urandom(150_000)
        ok = http.post("/v1/files", files={"file": ("a.bin", data)}, data={"purpose": "user_data"})
        assert ok.status_code == 200, ok.text
        assert http.get(f"/v1/files/{ok.json()['id']}/content").content == data
        big = http.post("/v1/files", files={"file": ("a.bin", b"x" * 200_001)}, data={"purpose": "user_data"})
        assert envelope(big, 413)["code"] == "file_too_large"
        # JSON bodies, and the small forms read whole in memory, keep --max-body-bytes.
        chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 20_000}]}
        assert envelope(http.post("/v1/chat/completions", json=chat), 413)["code"] == "request_too_large"
        form = http.post(
            "/v1/audio/transcriptions", data={"model": "whisper-1"}, files={"file": ("a.wav", b"\0" * 20_000)}
        )
        assert envelope(form, 413)["code"] == "request_too_large"
        # Many text fields cannot stand in for the file: the form's envelope is bounded too.
        fields = {f"f{i}": "v" * 60_000 for i in range(20)}
        crowded = http.post(
            "/v1/files", files={"file": ("a.bin", b"1")}, data={"purpose": "user_data", **fields}
        )
        assert envelope(crowded, 413)["code"] == "request_too_large"


def test_objects_are_shared_by_workers(start_server) -> None:
    with start_server("--workers", "2") as url:
        ids = []
        for i in range(30):  # a fresh connection per request spreads them over both workers
            r = httpx.post(
                url + "/v1/files", files={"file": ("w", str(i).encode())}, data={"purpose": "user_data"}
            )
            ids.append(r.json()["id"])
        for i, file_id in enumerate(ids):
            for _ in range(2):
                assert httpx.get(f"{url}/v1/files/{file_id}/content").content == str(i).encode()
        listed = httpx.get(url + "/v1/files", params={"purpose": "user_data"}).json()["data"]
        assert [f["id"] for f in listed] == ids[::-1]


def test_data_dir_survives_restart(start_server, tmp_path) -> None:
    data = os.urandom(5000)
    with start_server("--data-dir", str(tmp_path)) as url:
        file_id = httpx.post(
            url + "/v1/files", files={"file": ("k", data)}, data={"purpose": "user_data"}
        ).json()["id"]
    with start_server("--data-dir", str(tmp_path)) as url:
        assert httpx.get(f"{url}/v1/files/{file_id}/content").content == data


def test_an_expired_file_is_gone_for_every_api(start_server, tmp_path) -> None:
    """Only retrieve checked ``expires_at``: an expired file was still listed, attachable to vector
    stores and usable for fine-tuning. Time is moved on by rewriting ``expires_at`` in the store."""
    example = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    expiring = {"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"}
    with start_server("--data-dir", str(tmp_path)) as url, httpx.Client(base_url=url, timeout=10) as http:

        def upload(name: str, data: bytes, purpose: str, **fields: str) -> str:
            r = http.post("/v1/files", files={"file": (name, data)}, data={"purpose": purpose, **fields})
            assert r.status_code == 200, r.text
            return r.json()["id"]

        kept = upload("kept.txt", b"kept", "assistants")
        gone = upload("gone.txt", b"gone", "assistants", **expiring)
        tune = upload("t.jsonl", jsonl(*[example] * 10), "fine-tune", **expiring)
        with sqlite3.connect(tmp_path / "fakeai.db") as db:
            for file_id in (gone, tune):
                (body,) = db.execute(
                    "SELECT body FROM objects WHERE kind='file' AND id=?", (file_id,)
                ).fetchone()
                past = {**json.loads(body), "expires_at": int(time.time()) - 10}
                db.execute(
                    "UPDATE objects SET body=? WHERE kind='file' AND id=?", (json.dumps(past), file_id)
                )

        assert http.get(f"/v1/files/{gone}").status_code == 404
        listed = [f["id"] for f in http.get("/v1/files").json()["data"]]
        assert kept in listed and gone not in listed and tune not in listed
        page = http.get("/v1/files", params={"limit": 1, "order": "desc"}).json()  # reads on past both
        assert [f["id"] for f in page["data"]] == [kept] and not page["has_more"]
        assert http.get("/v1/files", params={"purpose": "fine-tune"}).json()["data"] == []

        vs = http.post("/v1/vector_stores", json={"name": "v"}).json()["id"]
        for path, body in [
            (f"/v1/vector_stores/{vs}/files", {"file_id": gone}),
            (f"/v1/vector_stores/{vs}/file_batches", {"file_ids": [kept, gone]}),
            ("/v1/vector_stores", {"file_ids": [gone]}),
        ]:
            assert envelope(http.post(path, json=body), 404)["code"] == "not_found"
        job = {"model": "gpt-4o-mini", "training_file": tune}
        assert envelope(http.post("/v1/fine_tuning/jobs", json=job), 400)["param"] == "training_file"
