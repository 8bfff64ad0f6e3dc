"""``--max-storage-bytes`` bounds every record a client makes, not only files: vector stores, file
batches, fine-tuning jobs (and what they write as they run), evals, organization objects, uploads,
batches. Past it, the 400 ``storage_quota_exceeded``; a delete frees room; every worker counts the same
total, the database's (kept beside the rows, equal to their sum)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import openai
import pytest

QUOTA = 200_000
#: The largest metadata OpenAI accepts: 16 pairs, 64-character keys, 512-character values (~9 KB).
BIG_METADATA = {f"k{i:02d}" + "x" * 61: "v" * 512 for i in range(16)}
BIG_ATTRIBUTES = BIG_METADATA


def flags(data: Path, quota: int = QUOTA) -> tuple[str, ...]:
    return (
        "--workers",
        "2",
        "--data-dir",
        str(data),
        "--max-storage-bytes",
        str(quota),
        "--fine-tune-duration",
        "0.3",
    )


def sdk(url: str) -> openai.OpenAI:
    """A client of its own, so its connection lands on either worker."""
    return openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)


def full(exc: pytest.ExceptionInfo[openai.BadRequestError] | openai.BadRequestError) -> bool:
    """Whether the error is the quota's 400."""
    error = exc if isinstance(exc, openai.BadRequestError) else exc.value
    body = error.body
    assert isinstance(body, dict)
    return (
        error.status_code == 400
        and body["code"] == "storage_quota_exceeded"
        and body["type"] == "invalid_request_error"
        and "--max-storage-bytes" in body["message"]
    )


def totals(data: Path) -> tuple[int, int, int]:
    """The running total, the sum of the rows' costs, and the bytes recomputed from the rows."""
    with sqlite3.connect(data / "fakeai.db") as db:
        (total,) = db.execute("SELECT bytes FROM storage_total").fetchone()
        (costs,) = db.execute("SELECT COALESCE(SUM(cost), 0) FROM objects").fetchone()
        (recomputed,) = db.execute(
            "SELECT COALESCE(SUM(LENGTH(body) + CASE WHEN shares_id IS NULL THEN size ELSE 0 END), 0) "
            "FROM objects o WHERE COALESCE((SELECT last FROM expiring WHERE first <= o.seq "
            "ORDER BY first DESC LIMIT 1), 0) < o.seq"
        ).fetchone()
    return total, costs, recomputed


def fill_vector_stores(url: str) -> list[str]:
    """Create big vector stores (each on a new connection) until the quota refuses one."""
    made = []
    for _ in range(100):
        with sdk(url) as c:
            try:
                vs = c.vector_stores.create(name="n" * 256, description="d" * 512, metadata=BIG_METADATA)
            except openai.BadRequestError as exc:
                assert full(exc)
                return made
            made.append(vs.id)
    raise AssertionError("100 vector stores of ~10 KB fit a 200 kB quota")


def test_vector_stores_fill_the_quota_on_every_worker_and_a_delete_frees_room(start_server, tmp_path) -> None:
    data = tmp_path / "data"
    with start_server(*flags(data)) as url:
        with sdk(url) as c:
            small = c.vector_stores.create(name="small")
        made = fill_vector_stores(url)
        assert 15 <= len(made) <= 20  # ~10 KB each: the bodies count, not only blobs
        for _ in range(6):  # new connections: both workers refuse alike
            with sdk(url) as c, pytest.raises(openai.BadRequestError) as exc:
                c.vector_stores.create(name="n" * 256, metadata=BIG_METADATA)
            assert full(exc)
        with sdk(url) as c, pytest.raises(openai.BadRequestError) as exc:  # an update that grows it
            c.vector_stores.update(small.id, metadata=BIG_METADATA)
        assert full(exc) and exc.value.body["param"] is None  # type: ignore[index]
        with sdk(url) as c:
            assert c.vector_stores.retrieve(small.id).metadata in (None, {})  # unchanged
            c.vector_stores.delete(made.pop())
        with sdk(url) as c:  # the room freed is the database's: the other worker sees it too
            made.append(
                c.vector_stores.create(name="n" * 256, description="d" * 512, metadata=BIG_METADATA).id
            )
        with sdk(url) as c, pytest.raises(openai.BadRequestError) as exc:
            c.vector_stores.create(name="n" * 256, description="d" * 512, metadata=BIG_METADATA)
        assert full(exc)
        with sdk(url) as c:  # what does not count: an expiring conversation (its own budget)
            c.conversations.create(metadata={"k": "v"})
        total, costs, recomputed = totals(data)
        assert total == costs == recomputed <= QUOTA
        for vs_id in made:
            with sdk(url) as c:
                c.vector_stores.delete(vs_id)
        total, costs, recomputed = totals(data)
        assert total == costs == recomputed < 20_000


def test_a_file_batch_that_does_not_fit_attaches_nothing(start_server, tmp_path) -> None:
    """The probe's batch: many files with 8 KB of attributes each (~22 MB of rows per request)."""
    data = tmp_path / "data"
    with start_server(*flags(data)) as url, sdk(url) as c:
        files = [
            c.files.create(file=(f"f{i}.txt", b"lighthouse keeper"), purpose="assistants") for i in range(12)
        ]
        vs = c.vector_stores.create(name="docs")
        entries = [{"file_id": f.id, "attributes": BIG_ATTRIBUTES} for f in files]
        first = c.vector_stores.file_batches.create(vs.id, files=entries)  # type: ignore[arg-type]
        assert first.file_counts.total == 12
        with pytest.raises(openai.BadRequestError) as exc:  # 12 more (~110 kB) do not fit
            c.vector_stores.file_batches.create(vs.id, files=entries)  # type: ignore[arg-type]
        assert full(exc) and exc.value.body["param"] == "files"  # type: ignore[index]
        attached = c.vector_stores.files.list(vs.id, limit=100).data
        assert {f.id for f in attached} == {f.id for f in files}  # the first batch's files all stay ...
        assert c.vector_stores.file_batches.retrieve(first.id, vector_store_id=vs.id).file_counts.total == 12
        with httpx.Client(base_url=url) as h:  # ... with their attributes (the refused one changed none)
            one = h.get(f"/v1/vector_stores/{vs.id}/files/{files[0].id}").json()
            assert one["attributes"] == BIG_ATTRIBUTES
            # the probe's shape: file_ids and one set of attributes for all of them
            big = {"file_ids": [f.id for f in files], "attributes": BIG_ATTRIBUTES}
            refused = h.post(f"/v1/vector_stores/{vs.id}/file_batches", json=big)
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "storage_quota_exceeded"
            assert refused.json()["error"]["param"] == "file_ids"
        plain = c.files.create(file=("plain.txt", b"keeper"), purpose="assistants")
        c.vector_stores.files.create(vector_store_id=vs.id, file_id=plain.id)  # no attributes yet
        while True:  # the room left, taken by small stores
            try:
                c.vector_stores.create(name="x" * 256, description="d" * 512)
            except openai.BadRequestError as exc:
                assert full(exc)
                break
        with pytest.raises(openai.BadRequestError) as exc:  # attributes that grow a file past it
            c.vector_stores.files.update(file_id=plain.id, vector_store_id=vs.id, attributes=BIG_ATTRIBUTES)
        assert full(exc) and exc.value.body["param"] == "attributes"  # type: ignore[index]
        c.vector_stores.delete(vs.id)  # its files' records go with it: room again
        other = c.vector_stores.create(name="again")
        assert c.vector_stores.file_batches.create(other.id, files=entries).file_counts.total == 12  # type: ignore[arg-type]
        total, costs, recomputed = totals(data)
        assert total == costs == recomputed <= QUOTA + 5_000  # + the indexer's unchecked usage_bytes


def training_file() -> bytes:
    line = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    return b"".join(json.dumps(line).encode() + b"\n" for _ in range(10))


def test_fine_tuning_jobs_fill_the_quota_and_their_runs_end_failed_past_it(start_server, tmp_path) -> None:
    data = tmp_path / "data"
    with start_server(*flags(data)) as url:
        with sdk(url) as c:
            training = c.files.create(file=("t.jsonl", training_file()), purpose="fine-tune")
        jobs = []
        for _ in range(100):
            with sdk(url) as c:
                try:
                    jobs.append(
                        c.fine_tuning.jobs.create(
                            model="gpt-4o-mini", training_file=training.id, metadata=BIG_METADATA
                        ).id
                    )
                except openai.BadRequestError as exc:
                    assert exc.body["code"] == "storage_quota_exceeded"  # type: ignore[index]
                    break
        assert 10 <= len(jobs) <= 25
        deadline = time.monotonic() + 60
        with sdk(url) as c:
            while True:
                ended = [c.fine_tuning.jobs.retrieve(j) for j in jobs]
                if all(j.status in ("succeeded", "failed", "cancelled") for j in ended):
                    break
                assert time.monotonic() < deadline, [j.status for j in ended]
                time.sleep(0.3)
            failed = [j for j in ended if j.status == "failed"]
            assert failed and all(j.error and j.error.code == "storage_quota_exceeded" for j in failed)
            assert all(j.status in ("succeeded", "failed") for j in ended)
            models = {m.id for m in c.models.list()}
            assert {j.fine_tuned_model for j in ended if j.status == "succeeded"} <= models
        total, costs, recomputed = totals(data)
        # their metrics, checkpoints and results were refused; what is only counted is a few
        # hundred bytes a job (status, closing events, the model)
        assert total == costs == recomputed <= QUOTA + 2_000 * len(jobs)


def test_every_api_that_stores_records_refuses_past_the_quota(start_server, tmp_path) -> None:
    data = tmp_path / "data"
    with start_server(*flags(data)) as url, sdk(url) as c, httpx.Client(base_url=url, timeout=30) as h:
        batch_input = c.files.create(
            file=(
                "b.jsonl",
                b'{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}\n',
            ),
            purpose="batch",
        )
        criterion = {"type": "string_check", "name": "s", "input": "a", "reference": "a", "operation": "eq"}
        config = {"type": "custom", "item_schema": {"type": "object"}}
        evaluation = h.post(
            "/v1/evals", json={"data_source_config": config, "testing_criteria": [criterion]}
        ).json()
        project = h.post("/v1/organization/projects", json={"name": "p"}).json()
        fill_vector_stores(url)
        for name in ("p" * 256, "p"):  # then smaller records, until not even a ~150-byte one fits
            while (r := h.post("/v1/organization/projects", json={"name": name})).status_code == 200:
                pass
            assert r.json()["error"]["code"] == "storage_quota_exceeded"
        requests = [
            ("POST", "/v1/organization/projects", {"name": "x" * 200}),
            ("POST", "/v1/organization/invites", {"email": "a" * 200 + "@b.c", "role": "reader"}),
            ("POST", "/v1/organization/admin_api_keys", {"name": "k" * 200}),
            ("POST", "/v1/vector_stores", {"name": "n" * 200}),
            (
                "POST",
                "/v1/uploads",
                {"filename": "f" * 200, "purpose": "assistants", "bytes": 1, "mime_type": "text/plain"},
            ),
            (
                "POST",
                "/v1/batches",
                {
                    "input_file_id": batch_input.id,
                    "endpoint": "/v1/chat/completions",
                    "completion_window": "24h",
                    "metadata": {"k": "v" * 200},
                },
            ),
            (
                "POST",
                "/v1/evals",
                {
                    "name": "e" * 200,
                    "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
                    "testing_criteria": [],
                },
            ),
            (
                "POST",
                f"/v1/evals/{evaluation['id']}/runs",
                {
                    "name": "r" * 200,
                    "data_source": {
                        "type": "jsonl",
                        "source": {"type": "file_content", "content": [{"item": {}}]},
                    },
                },
            ),
            ("POST", f"/v1/evals/{evaluation['id']}", {"metadata": {"k": "v" * 500}}),
        ]
        project_path = f"/v1/organization/projects/{project['id']}"
        requests.append(("POST", project_path + "/service_accounts", {"name": "s" * 200}))
        requests.append(("POST", project_path, {"name": "q" * 256}))
        for method, path, body in requests:
            r = h.request(method, path, json=body)
            assert r.status_code == 400, (path, r.status_code, r.text[:300])
            error = r.json()["error"]
            assert error["code"] == "storage_quota_exceeded" and error["type"] == "invalid_request_error", (
                path
            )
        assert h.get(project_path + "/service_accounts").json()["data"] == []  # none left behind
        assert h.get(project_path).json()["name"] == "p"  # the refused rename changed nothing
        total, costs, recomputed = totals(data)
        assert total == costs == recomputed <= QUOTA
