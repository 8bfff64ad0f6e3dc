"""``/v1/batches`` through the official SDK: batches really run through the engine, in the background."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def chat_line(i: int, model: str = "gpt-4o-mini") -> dict:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": f"question {i}"}],
        "max_tokens": 5 + i % 7,
    }
    return {"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}


def wait_done(
    client: openai.OpenAI, batch_id: str, timeout: float = 30
) -> tuple[openai.types.Batch, list[str]]:
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if not seen or seen[-1] != batch.status:
            seen.append(batch.status)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch, seen
        assert time.monotonic() < deadline, f"batch still {batch.status}"
        time.sleep(0.05)


def lines(client: openai.OpenAI, file_id: str) -> list[dict]:
    return [json.loads(line) for line in client.files.content(file_id).read().splitlines()]


@pytest.fixture(scope="module")
def fast(start_server):
    with (
        start_server("--ttft", "0", "--itl", "0", "--batch-duration", "1") as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as c,
    ):
        yield c


def test_a_batch_of_100_chat_requests_completes(fast: openai.OpenAI) -> None:
    file = fast.files.create(file=("in.jsonl", jsonl([chat_line(i) for i in range(100)])), purpose="batch")
    batch = fast.batches.create(
        input_file_id=file.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert batch.status == "validating" and batch.object == "batch" and batch.metadata == {"job": "nightly"}
    assert batch.expires_at == batch.created_at + 86400
    done, seen = wait_done(fast, batch.id)
    assert done.status == "completed", done.errors
    assert "in_progress" in seen and seen[-1] == "completed"
    assert (
        done.request_counts.total == 100
        and done.request_counts.completed == 100
        and done.request_counts.failed == 0
    )
    assert done.model == "gpt-4o-mini" and done.error_file_id is None
    assert done.in_progress_at <= done.finalizing_at <= done.completed_at
    output = fast.files.retrieve(done.output_file_id)
    assert output.purpose == "batch_output" and output.filename == f"{batch.id}_output.jsonl"
    results = lines(fast, done.output_file_id)
    assert sorted(r["custom_id"] for r in results) == sorted(f"req-{i}" for i in range(100))
    prompt = completion = 0
    for r in results:
        assert r["id"].startswith("batch_req_") and r["error"] is None
        assert r["response"]["status_code"] == 200 and r["response"]["request_id"]
        body = r["response"]["body"]
        assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-mini"
        i = int(r["custom_id"].split("-")[1])
        assert body["usage"]["completion_tokens"] <= 5 + i % 7
        assert body["choices"][0]["message"]["content"]
        prompt += body["usage"]["prompt_tokens"]
        completion += body["usage"]["completion_tokens"]
    assert done.usage.input_tokens == prompt and done.usage.output_tokens == completion
    assert done.usage.total_tokens == prompt + completion


def test_failed_requests_go_to_the_error_file(fast: openai.OpenAI) -> None:
    rows = [
        {
            "custom_id": "ok",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "text-embedding-3-small", "input": "hi", "dimensions": 8},
        },
        {
            "custom_id": "bad",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "text-embedding-3-small", "input": "hi", "dimensions": 99999},
        },
    ]
    file = fast.files.create(file=("in.jsonl", jsonl(rows)), purpose="batch")
    done, _ = wait_done(
        fast,
        fast.batches.create(input_file_id=file.id, endpoint="/v1/embeddings", completion_window="24h").id,
    )
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
    [ok] = lines(fast, done.output_file_id)
    assert ok["custom_id"] == "ok" and len(ok["response"]["body"]["data"][0]["embedding"]) == 8
    [bad] = lines(fast, done.error_file_id)
    assert bad["custom_id"] == "bad" and bad["response"]["status_code"] == 400
    assert bad["response"]["body"]["error"]["param"] == "dimensions"


def test_completions_batch(fast: openai.OpenAI) -> None:
    rows = [
        {
            "custom_id": f"c{i}",
            "method": "POST",
            "url": "/v1/completions",
            "body": {"model": "gpt-3.5-turbo-instruct", "prompt": "Say", "max_tokens": 3},
        }
        for i in range(3)
    ]
    file = fast.files.create(file=("in.jsonl", jsonl(rows)), purpose="batch")
    done, _ = wait_done(
        fast,
        fast.batches.create(input_file_id=file.id, endpoint="/v1/completions", completion_window="24h").id,
    )
    assert done.request_counts.completed == 3
    assert all(r["response"]["body"]["object"] == "text_completion" for r in lines(fast, done.output_file_id))


def test_lines_for_another_endpoint_fail_the_batch(fast: openai.OpenAI) -> None:
    file = fast.files.create(file=("in.jsonl", jsonl([chat_line(0), chat_line(1)])), purpose="batch")
    batch = fast.batches.create(input_file_id=file.id, endpoint="/v1/embeddings", completion_window="24h")
    done, _ = wait_done(fast, batch.id)
    assert done.status == "failed" and done.failed_at
    assert [(e.line, e.code, e.param) for e in done.errors.data] == [
        (1, "invalid_url", "url"),
        (2, "invalid_url", "url"),
    ]


def test_cancel(client: openai.OpenAI) -> None:  # the default server: a batch takes 5 s
    file = client.files.create(file=("in.jsonl", jsonl([chat_line(i) for i in range(50)])), purpose="batch")
    batch = client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at
    done, _ = wait_done(client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at and done.usage is not None
    with pytest.raises(openai.BadRequestError, match="status 'cancelled'"):
        client.batches.cancel(batch.id)


def test_cancel_of_a_finished_batch_is_400(fast: openai.OpenAI) -> None:
    file = fast.files.create(file=("in.jsonl", jsonl([chat_line(0)])), purpose="batch")
    done, _ = wait_done(
        fast,
        fast.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id,
    )
    assert done.status == "completed"
    with pytest.raises(openai.BadRequestError) as exc:
        fast.batches.cancel(done.id)
    assert exc.value.status_code == 400 and "completed" in exc.value.body["message"]


def test_list_and_bad_inputs(fast: openai.OpenAI, start_server) -> None:
    file = fast.files.create(file=("in.jsonl", jsonl([chat_line(0)])), purpose="batch")
    ids = [
        fast.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id
        for _ in range(3)
    ]
    assert [b.id for b in fast.batches.list(limit=3).data] == ids[::-1]
    assert [b.id for b in fast.batches.list(limit=2, after=ids[2]).data] == ids[1::-1]
    with pytest.raises(openai.NotFoundError):
        fast.batches.retrieve("batch_nope")
    with pytest.raises(openai.NotFoundError):
        fast.batches.cancel("batch_nope")
    with pytest.raises(openai.NotFoundError) as exc:
        fast.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert exc.value.body["param"] == "input_file_id"
    other = fast.files.create(file=("x.txt", b"x"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        fast.batches.create(input_file_id=other.id, endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.BadRequestError) as exc:
        fast.batches.create(input_file_id=file.id, endpoint="/v1/images", completion_window="24h")
    assert exc.value.body["param"] == "endpoint"
    with pytest.raises(openai.BadRequestError) as exc:
        fast.batches.create(input_file_id=file.id, endpoint="/v1/embeddings", completion_window="1h")
    assert exc.value.body["param"] == "completion_window"
    with pytest.raises(openai.BadRequestError) as exc:
        fast.batches.create(
            input_file_id=file.id,
            endpoint="/v1/embeddings",
            completion_window="24h",
            metadata={f"k{i}": "v" for i in range(17)},
        )
    assert exc.value.body["param"] == "metadata"
    with pytest.raises(openai.BadRequestError) as exc:
        fast.batches.list(limit=1000)
    assert exc.value.body["param"] == "limit"


def test_workers_share_batches_and_a_restart_keeps_results(start_server, tmp_path) -> None:
    flags = ("--workers", "2", "--batch-duration", "0.5", "--data-dir", str(tmp_path))
    with start_server(*flags) as url:
        batch_ids = []
        for n in range(4):  # fresh connections: created on either worker, run by whichever is free
            f = httpx.post(
                url + "/v1/files",
                files={"file": ("b", jsonl([chat_line(i) for i in range(20 + n)]))},
                data={"purpose": "batch"},
            ).json()
            body = {"input_file_id": f["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"}
            batch_ids.append(httpx.post(url + "/v1/batches", json=body).json()["id"])
        with openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as c:
            finished = [wait_done(c, b)[0] for b in batch_ids]
        assert [b.request_counts.completed for b in finished] == [20, 21, 22, 23]
        outputs = {
            b.output_file_id: httpx.get(f"{url}/v1/files/{b.output_file_id}/content").content
            for b in finished
        }
    with start_server("--data-dir", str(tmp_path)) as url:
        for b in finished:
            again = httpx.get(f"{url}/v1/batches/{b.id}").json()
            assert again["status"] == "completed" and again["output_file_id"] == b.output_file_id
            assert (
                httpx.get(f"{url}/v1/files/{b.output_file_id}/content").content == outputs[b.output_file_id]
            )


def heavy_line(i: int, tokens: int) -> dict:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": tokens,
        "ignore_eos": True,
    }
    return {"custom_id": f"h{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}


def run_batch(client: openai.OpenAI, rows: list[dict], endpoint: str = "/v1/chat/completions", **kw):
    file = client.files.create(file=("in.jsonl", jsonl(rows)), purpose="batch")
    batch = client.batches.create(input_file_id=file.id, endpoint=endpoint, completion_window="24h", **kw)
    return file, wait_done(client, batch.id)[0]


def stored_bytes(client: openai.OpenAI) -> int:
    return sum(f.bytes for f in client.files.list())


QUOTA = 300_000
#: What the records' JSON costs beside the files' bytes (the batch, the files', the seeded organization).
RECORDS = 8_000
QUOTA_FLAGS = ("--ttft", "0", "--itl", "0", "--batch-duration", "0.2", "--max-storage-bytes", str(QUOTA))


def test_batch_output_counts_against_the_storage_quota(start_server) -> None:
    flags = (*QUOTA_FLAGS, "--max-generated-tokens", "4000")
    with (
        start_server(*flags) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as c,
    ):
        # --max-generated-tokens bounds each line, as it bounds a live request
        _, done = run_batch(c, [heavy_line(0, 1000), heavy_line(1, 1000), heavy_line(2, 4001)])
        assert done.status == "completed", done.errors
        assert (done.request_counts.completed, done.request_counts.failed) == (2, 1)
        [too_long] = lines(c, done.error_file_id)
        assert too_long["response"]["status_code"] == 400
        output = c.files.retrieve(done.output_file_id)
        assert output.bytes > 10_000
        room = QUOTA - stored_bytes(c)  # the output and error files are in the total
        assert 0 < room < QUOTA - output.bytes
        with pytest.raises(openai.BadRequestError) as exc:
            c.files.create(file=("big.bin", b"x" * (room + 1)), purpose="user_data")
        assert exc.value.body["code"] == "storage_quota_exceeded"
        room -= RECORDS
        assert c.files.create(file=("fits.bin", b"x" * room), purpose="user_data").bytes == room


def test_a_batch_whose_output_passes_the_quota_fails_and_keeps_nothing(start_server) -> None:
    with (
        start_server(*QUOTA_FLAGS) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as c,
    ):
        # ~40 x 2000 tokens of output (hundreds of KB) from a 7 KB input: more than the quota
        file, done = run_batch(c, [heavy_line(i, 2000) for i in range(40)])
        assert done.status == "failed" and done.failed_at
        [error] = done.errors.data
        assert error.code == "storage_quota_exceeded" and "--max-storage-bytes" in error.message
        assert done.output_file_id is None and done.error_file_id is None
        assert 0 < done.request_counts.completed < 40
        assert [f.id for f in c.files.list()] == [file.id]  # the partial output was discarded
        room = QUOTA - file.bytes - RECORDS
        assert c.files.create(file=("mine.bin", b"x" * room), purpose="user_data").bytes == room


def test_a_batch_keeps_the_first_100_errors(fast: openai.OpenAI) -> None:
    _, done = run_batch(fast, [chat_line(i) for i in range(300)], endpoint="/v1/embeddings")
    assert done.status == "failed"
    assert [e.line for e in done.errors.data] == list(range(1, 101))
    assert done.model == "gpt-4o-mini"
    assert done.usage is not None and done.usage.total_tokens == 0


def test_an_expired_input_file_is_unknown(start_server, tmp_path) -> None:
    flags = ("--ttft", "0", "--itl", "0", "--batch-duration", "0.2", "--data-dir", str(tmp_path))
    with (
        start_server(*flags) as url,
        openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=20) as c,
    ):
        file = c.files.create(
            file=("in.jsonl", jsonl([chat_line(0)])),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
        created = c.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert wait_done(c, created.id)[0].status == "completed"
        db = sqlite3.connect(tmp_path / "fakeai.db", timeout=10)
        with db:  # the hour passes; the completed batch is taken up again (as after a worker died)
            (body,) = db.execute(
                "SELECT body FROM objects WHERE kind = 'file' AND id = ?", (file.id,)
            ).fetchone()
            expired = {**json.loads(body), "expires_at": int(time.time()) - 1}
            db.execute(
                "UPDATE objects SET body = ? WHERE kind = 'file' AND id = ?", (json.dumps(expired), file.id)
            )
            db.execute(
                "UPDATE objects SET body = ?, status = 'validating', lease_owner = NULL WHERE id = ?",
                (created.model_dump_json(), created.id),
            )
        db.close()
        with pytest.raises(openai.NotFoundError):
            c.files.retrieve(file.id)
        with pytest.raises(openai.NotFoundError) as exc:
            c.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert exc.value.body["param"] == "input_file_id"
        again = wait_done(c, created.id)[0]
        assert again.status == "failed" and [e.code for e in again.errors.data] == ["invalid_file"]


@pytest.mark.parametrize(
    ("after", "param"),
    [
        ({"anchor": "last_active_at", "seconds": 3600}, "output_expires_after.anchor"),
        ({"seconds": 3600}, "output_expires_after.anchor"),
        ({"anchor": "created_at"}, "output_expires_after.seconds"),
        ({"anchor": "created_at", "seconds": 3599}, "output_expires_after.seconds"),
        ({"anchor": "created_at", "seconds": 2592001}, "output_expires_after.seconds"),
        ({"anchor": "created_at", "seconds": "3600"}, "output_expires_after.seconds"),
        ({"anchor": "created_at", "seconds": True}, "output_expires_after.seconds"),
        ({"anchor": "created_at", "seconds": 3600, "days": 1}, "output_expires_after.days"),
    ],
)
def test_bad_output_expires_after_is_400(fast: openai.OpenAI, after: dict, param: str) -> None:
    file = fast.files.create(file=("in.jsonl", jsonl([chat_line(0)])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as exc:
        fast.batches.create(
            input_file_id=file.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            output_expires_after=after,  # type: ignore[arg-type]
        )
    assert exc.value.body["param"] == param


def test_output_expires_after_sets_the_output_files_expiry(fast: openai.OpenAI) -> None:
    rows = [chat_line(0), {**chat_line(1), "body": {"model": "gpt-4o-mini", "messages": "x"}}]
    _, done = run_batch(fast, rows, output_expires_after={"anchor": "created_at", "seconds": 7200})
    assert done.status == "completed"
    for file_id in (done.output_file_id, done.error_file_id):
        file = fast.files.retrieve(file_id)
        assert file.expires_at == file.created_at + 7200
    shown = [
        fast.batches.with_raw_response.retrieve(done.id).http_response.json(),
        *fast.batches.with_raw_response.list().http_response.json()["data"],
    ]
    assert all(not key.startswith("_") for batch in shown for key in batch)
