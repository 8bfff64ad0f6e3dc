"""``/v1/batches`` through the official SDK: batches really run through the engine, in the background."""

from __future__ import annotations

import json
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
    assert done.status == "cancelled" and done.cancelled_at
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
