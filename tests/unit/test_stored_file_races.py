"""Every reader of a stored file when another worker deletes it between the lookup and the read.

The races are made deterministic without patching the code under test: the readers are handed a
:class:`Raced` store, the embedded store whose lookups are followed at once by what another worker
does through its own handle on the same data directory (``DELETE /v1/files`` deletes the row, then
the blob; a sweep expires an upload and drops its parts; a vector store file is indexed again). A
request must answer its API's "missing" error (never a 500), a background job must end with its
API's error object naming the file (never a traceback in the log, never stuck).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fakeai import _core
from fakeai.api import uploads, vector_store_files
from fakeai.engine import fine_tuning, vector_index
from fakeai.engine.background import Lease
from fakeai.engine.batches import BatchRunner
from fakeai.engine.message_batches import MessageBatchRunner, requests_key, results_key
from fakeai.errors import exception_handlers
from fakeai.settings import Settings
from fakeai.store import Obj
from fakeai.store.objects import file_object
from fakeai.store.sqlite import SQLiteStore

Hook = Callable[[], None]


class Raced(SQLiteStore):
    """This worker's store; ``after_get[(kind, id)]``, ``after_all[kind]`` and ``after_path[key]`` run
    once, right after that lookup (or, for a blob, right before it is opened): what another worker
    does meanwhile, through :attr:`other`."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.other = SQLiteStore(root)
        self.after_get: dict[tuple[str, str], Hook] = {}
        self.after_all: dict[str, Hook] = {}
        self.after_path: dict[str, Hook] = {}

    def get(self, kind: str, id: str) -> Obj | None:
        obj = super().get(kind, id)
        if hook := self.after_get.pop((kind, id), None):
            hook()
        return obj

    def all(self, kind: str, *, tag: str | None = None) -> list[Obj]:
        objs = super().all(kind, tag=tag)
        if hook := self.after_all.pop(kind, None):
            hook()
        return objs

    def blob_path(self, key: str) -> Path:
        if hook := self.after_path.pop(key, None):
            hook()
        return super().blob_path(key)

    def put_file(self, data: bytes, purpose: str) -> str:
        writer = self.blob_writer()
        writer.write(data)
        file = file_object(f"file-{len(self.all('file')):04d}", "data.jsonl", len(data), purpose)
        self.commit_blob(writer, file["id"])
        self.insert("file", file, tag=purpose, size=len(data))
        return file["id"]

    def deleted_by_another_worker(self, file_id: str) -> None:
        """Once this worker has looked ``file_id`` up, another deletes it (as ``DELETE /v1/files``)."""

        def delete() -> None:
            self.other.delete("file", file_id)
            self.other.delete_blob(file_id)

        self.after_get[("file", file_id)] = delete

    def lease(self, kind: str, statuses: tuple[str, ...]) -> tuple[Obj, Lease]:
        obj = self.claim(kind, statuses, "w1", 60)
        assert obj is not None
        return obj, Lease(self, kind, obj["id"], "w1")


@pytest.fixture()
def store(tmp_path: Path) -> Raced:
    return Raced(tmp_path)


@pytest.fixture()
def errors_logged(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.INFO, logger="fakeai")
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def ctx(store: Raced) -> Any:
    return SimpleNamespace(store=store, settings=Settings(batch_duration_s=0.0))


def app(routes: list) -> TestClient:
    return TestClient(
        Starlette(routes=routes, exception_handlers=exception_handlers), raise_server_exceptions=False
    )


# Background jobs


CHAT = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


@pytest.mark.parametrize("field", ["training_file", "validation_file"])
def test_fine_tuning_fails_naming_a_file_deleted_before_it_is_read(
    store: Raced, errors_logged, field
) -> None:
    files = {f: store.put_file(CHAT * 12, "fine-tune") for f in ("training_file", "validation_file")}
    store.insert(
        fine_tuning.KIND,
        {
            "id": "ftjob-1",
            "status": "validating_files",
            **files,
            "method": {"type": "supervised", "supervised": {"hyperparameters": {}}},
        },
    )
    store.deleted_by_another_worker(files[field])
    job, lease = store.lease(fine_tuning.KIND, fine_tuning.RUNNABLE)
    asyncio.run(fine_tuning.FineTuningRunner(store, 0.0).run(job, lease))
    failed = store.get(fine_tuning.KIND, "ftjob-1")
    assert failed is not None and failed["status"] == "failed"
    message = f"File '{files[field]}' does not exist or does not have purpose 'fine-tune'."
    assert failed["error"] == {"code": "invalid_training_file", "message": message, "param": field}
    assert errors_logged() == []
    events = store.all("fine_tuning.event", tag="ftjob-1")
    assert events[-1]["level"] == "error" and events[-1]["message"] == message


def test_batch_fails_naming_an_input_file_deleted_before_it_is_read(store: Raced, errors_logged) -> None:
    line = b'{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m", "input": "x"}}\n'
    file_id = store.put_file(line, "batch")
    store.insert(
        "batch",
        {
            "id": "batch_1",
            "status": "validating",
            "endpoint": "/v1/embeddings",
            "input_file_id": file_id,
            "expires_at": 2**40,
            "usage": None,
        },
    )
    store.deleted_by_another_worker(file_id)
    batch, lease = store.lease("batch", ("validating",))
    asyncio.run(BatchRunner(ctx(store)).run(batch, lease))
    failed = store.get("batch", "batch_1")
    assert failed is not None and failed["status"] == "failed"
    assert failed["errors"]["data"] == [
        {
            "code": "invalid_file",
            "line": None,
            "message": f"The input file '{file_id}' was deleted or has expired.",
            "param": None,
        }
    ]
    assert errors_logged() == []


def test_message_batch_whose_requests_went_with_it_stops_quietly(store: Raced, errors_logged) -> None:
    """A worker took over a batch (its lease had expired) that the first worker then ended and the
    client deleted, requests and all: the late worker stops, as it does when it finds the batch gone
    later on."""
    batch = {"id": "msgbatch_1", "status": "in_progress", "expires_at": 2**40}
    store.insert("message_batch", batch)
    taken, lease = store.lease("message_batch", ("in_progress",))
    store.other.delete("message_batch", "msgbatch_1")
    asyncio.run(MessageBatchRunner(ctx(store)).run(taken, lease))
    assert store.get("message_batch", "msgbatch_1") is None
    assert not store.blob_path(results_key("msgbatch_1")).exists()
    assert not store.blob_path(requests_key("msgbatch_1")).exists()
    assert errors_logged() == []


def vector_store_file(store: Raced, file_id: str, strategy: Obj = vector_index.AUTO) -> None:
    store.insert(
        vector_index.KIND,
        {
            "id": f"vs_1/{file_id}",
            "vector_store_id": "vs_1",
            "file_id": file_id,
            "status": "in_progress",
            "chunking_strategy": strategy,
        },
        tag="vs_1",
    )


def index(store: Raced) -> Obj:
    vsf, lease = store.lease(vector_index.KIND, ("in_progress",))
    asyncio.run(vector_index.IndexRunner(store).run(vsf, lease))
    done = store.get(vector_index.KIND, vsf["id"])
    assert done is not None
    return done


def test_vector_store_file_fails_naming_a_file_deleted_before_it_is_read(store: Raced, errors_logged) -> None:
    file_id = store.put_file(b"plain text to index", "assistants")
    vector_store_file(store, file_id)
    store.deleted_by_another_worker(file_id)
    failed = index(store)
    assert failed["status"] == "failed"
    assert failed["last_error"] == {
        "code": "invalid_file",
        "message": f"The file '{file_id}' was deleted or has expired.",
    }
    assert errors_logged() == []


def test_vector_search_skips_a_file_indexed_again_between_its_two_blobs(store: Raced) -> None:
    """Search reads a file's vectors, then its chunks: a file removed and indexed again between the
    two (another chunking, fewer chunks) is left out of this search, not a 500 (an IndexError)."""
    file_id = store.put_file(" ".join(f"word{i}" for i in range(2000)).encode(), "assistants")
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    vector_store_file(store, file_id, small)
    assert index(store)["status"] == "completed"
    chunks_key, vectors_key = vector_index.blob_keys("vs_1", file_id)
    rows = len(orjson.loads(store.blob_path(chunks_key).read_bytes()))
    assert rows > 10

    def indexed_again() -> None:
        chunks = ["one big chunk"]
        for key, data in zip(
            (chunks_key, vectors_key),
            (orjson.dumps(chunks), _core.embedding_matrix(chunks, vector_index.DIMS)),
            strict=True,
        ):
            writer = store.other.blob_writer()
            writer.write(data)
            store.other.commit_blob(writer, key)

    store.after_path[chunks_key] = indexed_again
    assert vector_index.search(store, "vs_1", ["word1999"], rows, None, float("-inf")) == []
    hits = vector_index.search(store, "vs_1", ["word1999"], rows, None, float("-inf"))  # consistent again
    assert [h["content"][0]["text"] for h in hits] == ["one big chunk"]


# Requests


def test_vector_store_file_content_of_a_file_deleted_meanwhile_is_a_404(store: Raced) -> None:
    file_id = store.put_file(b"some text", "assistants")
    store.insert("vector_store", {"id": "vs_1"})
    vector_store_file(store, file_id)
    store.after_get[(vector_index.KIND, f"vs_1/{file_id}")] = lambda: (
        store.other.delete("file", file_id),
        store.other.delete_blob(file_id),
    )
    with app(vector_store_files.routes(ctx(store))) as client:
        r = client.get(f"/v1/vector_stores/vs_1/files/{file_id}/content")
    assert r.status_code == 404, r.text
    assert r.json()["error"] == {
        "message": f"No file found with id '{file_id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": "not_found",
    }


def test_upload_completed_while_it_expires_is_a_400_not_a_500(store: Raced) -> None:
    """An upload still assembling an hour past its expiry is swept as abandoned by another worker,
    which drops its parts: the ``complete`` that was assembling them answers that the upload expired."""
    with app(uploads.routes(ctx(store))) as client:
        upload = client.post(
            "/v1/uploads",
            json={"bytes": 10, "filename": "a.txt", "mime_type": "text/plain", "purpose": "assistants"},
        ).json()
        part = client.post(f"/v1/uploads/{upload['id']}/parts", files={"data": ("p", b"0123456789")}).json()

        def swept() -> None:
            current = store.other.get("upload", upload["id"])
            assert current is not None
            store.other.update("upload", {**current, "status": "expired"}, expect=("completing",))
            for p in store.other.all("upload_part", tag=upload["id"]):
                store.other.delete("upload_part", p["id"])
                store.other.delete_blob(p["id"])

        store.after_all["upload_part"] = swept
        r = client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [part["id"]]})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == {
            "message": f"Upload '{upload['id']}' is expired, not pending.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_upload_state",
        }
        assert client.get(f"/v1/uploads/{upload['id']}").json()["status"] == "expired"
    assert store.all("file") == [] and not any(store.blobs.iterdir())  # nothing assembled is kept


def test_embedding_rows_match_chunks() -> None:
    """What the search's consistency check relies on: one row of DIMS little-endian f32 per chunk."""
    assert len(_core.embedding_matrix(["a", "b", "c"], vector_index.DIMS)) == 3 * vector_index.DIMS * 4
