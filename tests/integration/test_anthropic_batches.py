"""Anthropic's Message Batches (``/v1/messages/batches``) through the official ``anthropic`` SDK, and
their bad inputs through httpx: batches run in the background through ``POST /v1/messages``'s code."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import anthropic
import httpx
import pytest
from anthropic.types import Message
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

pytestmark = pytest.mark.integration

V = {"anthropic-version": "2023-06-01"}
MODEL = "claude-sonnet-4-5"


def params(i: int, **extra: object) -> dict:
    return {
        "model": MODEL,
        "max_tokens": 5 + i % 7,
        "messages": [{"role": "user", "content": f"question {i}"}],
        **extra,
    }


def wait_ended(
    client: anthropic.Anthropic, batch_id: str, timeout: float = 30
) -> tuple[MessageBatch, list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if not seen or seen[-1] != batch.processing_status:
            seen.append(batch.processing_status)
        if batch.processing_status == "ended":
            return batch, seen
        assert time.monotonic() < deadline, f"batch still {batch.processing_status}"
        time.sleep(0.05)


def envelope(r: httpx.Response, status: int, kind: str = "invalid_request_error") -> str:
    """The message of an Anthropic error answer (checked: its status, envelope and request id)."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == kind, body
    assert r.headers["request-id"] == r.headers["x-request-id"]
    return body["error"]["message"]


@pytest.fixture(scope="module")
def fast_url(start_server):
    with start_server("--ttft", "0", "--itl", "0", "--batch-duration", "1") as url:
        yield url


@pytest.fixture()
def claude(fast_url):
    with anthropic.Anthropic(base_url=fast_url, api_key="k", max_retries=0, timeout=30) as c:
        yield c


@pytest.fixture()
def http(fast_url):
    with httpx.Client(base_url=fast_url, timeout=30, headers=V) as c:
        yield c


def test_a_batch_runs_and_its_results_come_back(claude: anthropic.Anthropic) -> None:
    good = [{"custom_id": f"req-{i}", "params": params(i)} for i in range(40)]
    bad = [
        {
            "custom_id": "no-max-tokens",
            "params": {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
        },
        {"custom_id": "streamed", "params": params(1, stream=True)},
        {"custom_id": "bad-role", "params": {**params(2), "messages": [{"role": "robot", "content": "x"}]}},
        {"custom_id": "zero-tokens", "params": params(3, max_tokens=0)},
    ]
    created = claude.messages.batches.with_raw_response.create(requests=good + bad)
    assert created.headers["request-id"]
    batch = created.parse()
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert batch.request_counts.processing == 44 and batch.request_counts.succeeded == 0
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert batch.ended_at is None and batch.cancel_initiated_at is None and batch.archived_at is None

    done, seen = wait_ended(claude, batch.id)
    assert seen[-1] == "ended"
    counts = done.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled, counts.expired) == (
        0,
        40,
        4,
        0,
        0,
    )
    assert done.ended_at is not None and done.created_at <= done.ended_at
    assert done.results_url and done.results_url.endswith(f"/v1/messages/batches/{batch.id}/results")

    results = {r.custom_id: r for r in claude.messages.batches.results(batch.id)}
    assert set(results) == {r["custom_id"] for r in good + bad}
    for i in range(40):
        result = results[f"req-{i}"].result
        assert result.type == "succeeded"
        message = Message.model_validate(result.message.model_dump())  # every required field there
        assert message.model == MODEL and message.usage.output_tokens <= 5 + i % 7
        assert message.content[0].type == "text" and message.content[0].text
    for name, param in (("no-max-tokens", "max_tokens"), ("streamed", "stream"), ("bad-role", "messages")):
        result = results[name].result
        assert result.type == "errored", name
        assert result.error.type == "error" and result.error.error.type == "invalid_request_error"
        assert param in result.error.error.message, (name, result.error.error.message)
    assert results["zero-tokens"].result.type == "errored"


def test_the_raw_results_are_jsonl_of_the_sdk_types(claude: anthropic.Anthropic, http: httpx.Client) -> None:
    batch = claude.messages.batches.create(requests=[{"custom_id": "only", "params": params(0)}])
    done, _ = wait_ended(claude, batch.id)
    r = http.get(f"/v1/messages/batches/{batch.id}/results")
    assert r.status_code == 200 and r.headers["request-id"]
    [line] = r.content.splitlines()
    MessageBatchIndividualResponse.model_validate(json.loads(line))
    MessageBatch.model_validate(http.get(f"/v1/messages/batches/{batch.id}").json())


def test_the_beta_resource_uses_the_same_batches(claude: anthropic.Anthropic) -> None:
    batch = claude.beta.messages.batches.create(requests=[{"custom_id": "b", "params": params(0)}])
    assert claude.messages.batches.retrieve(batch.id).id == batch.id
    done, _ = wait_ended(claude, batch.id)
    [result] = list(claude.beta.messages.batches.results(batch.id))
    assert result.custom_id == "b" and result.result.type == "succeeded"
    assert claude.beta.messages.batches.delete(batch.id).type == "message_batch_deleted"


def test_list_pages_newest_first(start_server) -> None:
    with (
        start_server("--ttft", "0", "--itl", "0", "--batch-duration", "0") as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude,
        httpx.Client(base_url=url, headers=V) as http,
    ):
        ids = [
            claude.messages.batches.create(requests=[{"custom_id": "a", "params": params(i)}]).id
            for i in range(5)
        ]
        newest_first = ids[::-1]
        first = claude.messages.batches.list(limit=2)
        assert [b.id for b in first.data] == newest_first[:2] and first.has_more
        assert first.first_id == newest_first[0] and first.last_id == newest_first[1]
        second = claude.messages.batches.list(limit=2, after_id=first.last_id)
        assert [b.id for b in second.data] == newest_first[2:4] and second.has_more
        back = claude.messages.batches.list(limit=2, before_id=second.first_id)
        assert [b.id for b in back.data] == newest_first[:2] and not back.has_more
        last = claude.messages.batches.list(limit=2, after_id=second.last_id)
        assert [b.id for b in last.data] == newest_first[4:] and not last.has_more
        assert [b.id for b in claude.messages.batches.list(limit=2)] == newest_first  # the auto-pager
        assert [b.id for b in claude.messages.batches.list().data] == newest_first  # default limit 20
        for query, param in (
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
            ({"limit": "x"}, "limit"),
            ({"after_id": ids[0], "before_id": ids[1]}, "before_id"),
            ({"after_id": "msgbatch_nope"}, "after_id"),
        ):
            message = envelope(http.get("/v1/messages/batches", params=query), 400)
            assert message.startswith(param), message


def test_cancel_ends_the_rest_canceled(start_server) -> None:
    with (
        start_server("--ttft", "0", "--itl", "0", "--batch-duration", "4") as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude,
        httpx.Client(base_url=url, headers=V) as http,
    ):
        batch = claude.messages.batches.create(
            requests=[{"custom_id": f"r{i}", "params": params(i)} for i in range(200)]
        )
        time.sleep(0.6)  # a few steps of the 4 s run
        message = envelope(http.delete(f"/v1/messages/batches/{batch.id}"), 400)
        assert "still processing" in message
        canceling = claude.messages.batches.cancel(batch.id)
        assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
        assert claude.messages.batches.cancel(batch.id).processing_status == "canceling"  # again: the same
        done, _ = wait_ended(claude, batch.id)
        counts = done.request_counts
        assert 0 < counts.canceled < 200 and counts.succeeded + counts.canceled == 200, counts
        assert done.cancel_initiated_at == canceling.cancel_initiated_at
        results = list(claude.messages.batches.results(batch.id))
        kinds = [r.result.type for r in results]
        assert kinds.count("canceled") == counts.canceled and kinds.count("succeeded") == counts.succeeded
        assert "has ended" in envelope(http.post(f"/v1/messages/batches/{batch.id}/cancel"), 400)


def test_delete_only_an_ended_batch_and_then_it_is_gone(
    claude: anthropic.Anthropic, http: httpx.Client
) -> None:
    batch = claude.messages.batches.create(requests=[{"custom_id": "x", "params": params(0)}])
    wait_ended(claude, batch.id)
    deleted = claude.messages.batches.delete(batch.id)
    assert deleted.id == batch.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError) as gone:
        claude.messages.batches.retrieve(batch.id)
    assert gone.value.body["error"]["type"] == "not_found_error" and gone.value.request_id
    assert batch.id not in [b.id for b in claude.messages.batches.list(limit=1000).data]
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/cancel"), ("GET", "/results")):
        envelope(http.request(method, f"/v1/messages/batches/{batch.id}{suffix}"), 404, "not_found_error")


def test_results_read_while_the_batch_is_deleted_come_whole(
    claude: anthropic.Anthropic, http: httpx.Client
) -> None:
    """The results file is opened before the answer starts: a delete once the headers are out (the
    handler holds the file) leaves the body whole; a read after the delete is a 404, never a 500."""
    batch = claude.messages.batches.create(
        requests=[{"custom_id": f"r{i}", "params": params(i)} for i in range(300)]
    )
    wait_ended(claude, batch.id)
    with http.stream("GET", f"/v1/messages/batches/{batch.id}/results") as r:
        assert r.status_code == 200
        size = int(r.headers["content-length"])
        assert size > 64 * 1024  # more than one chunk: most of it is sent after the delete
        claude.messages.batches.delete(batch.id)
        body = r.read()
    assert len(body) == size
    assert sorted(json.loads(line)["custom_id"] for line in body.splitlines()) == sorted(
        f"r{i}" for i in range(300)
    )
    envelope(http.get(f"/v1/messages/batches/{batch.id}/results"), 404, "not_found_error")


def test_a_blob_deleted_before_it_is_opened_is_none_and_after_it_is_sent_whole(tmp_path) -> None:
    """What the results and file-content handlers rely on: the blob gone before it is opened reads as
    None (their 404); gone after, it is still sent whole from the open descriptor."""
    import asyncio

    from fakeai.http.blob import CHUNK, OpenFileResponse, open_blob
    from fakeai.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path)
    path = store.blob_path("blob")
    data = bytes(range(256)) * (CHUNK // 128 + 3)
    path.write_bytes(data)

    async def run() -> tuple[object, list[dict]]:
        gone = await open_blob(store, "missing")
        file = await open_blob(store, "blob")
        assert file is not None
        response = OpenFileResponse(file, media_type="application/x-jsonl")
        path.unlink()  # another worker deletes it now
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        async def receive() -> dict:
            return {"type": "http.disconnect"}

        await response({"type": "http", "method": "GET"}, receive, send)  # type: ignore[arg-type]
        assert file.closed
        return gone, sent

    gone, sent = asyncio.run(run())
    assert gone is None
    assert sent[0]["status"] == 200 and (b"content-length", str(len(data)).encode()) in sent[0]["headers"]
    assert b"".join(m["body"] for m in sent[1:]) == data and not sent[-1]["more_body"]


def test_results_before_the_end_are_refused(start_server) -> None:
    with (
        start_server("--ttft", "0", "--itl", "0", "--batch-duration", "30") as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude,
        httpx.Client(base_url=url, headers=V) as http,
    ):
        batch = claude.messages.batches.create(requests=[{"custom_id": "x", "params": params(0)}])
        assert "not ended" in envelope(http.get(f"/v1/messages/batches/{batch.id}/results"), 400)
        with pytest.raises(anthropic.AnthropicError, match="results_url"):
            claude.messages.batches.results(batch.id)  # the SDK checks results_url first


def request_body(n: int, **overrides: object) -> dict:
    return {"requests": [{"custom_id": f"c{i}", "params": {}} for i in range(n)], **overrides}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (request_body(100_001), "requests"),  # one past Anthropic's 100,000
        ({"requests": []}, "requests"),
        ({}, "requests"),
        (
            {"requests": [{"custom_id": "a", "params": {}}, {"custom_id": "a", "params": {}}]},
            "requests[1].custom_id",
        ),
        ({"requests": [{"custom_id": "has space", "params": {}}]}, "requests[0].custom_id"),
        ({"requests": [{"custom_id": "x" * 65, "params": {}}]}, "requests[0].custom_id"),
        ({"requests": [{"custom_id": "", "params": {}}]}, "requests[0].custom_id"),
        ({"requests": [{"custom_id": "a", "params": [1]}]}, "requests[0].params"),
        ({"requests": [{"custom_id": "a", "params": "x"}]}, "requests[0].params"),
        ({"requests": [{"custom_id": "a"}]}, "requests[0].params"),
        ({"requests": [{"custom_id": 5, "params": {}}]}, "requests[0].custom_id"),
    ],
)
def test_bad_batches_are_400s_in_anthropics_envelope(http: httpx.Client, body: dict, param: str) -> None:
    before = len(http.get("/v1/messages/batches", params={"limit": 1000}).json()["data"])
    message = envelope(http.post("/v1/messages/batches", json=body), 400)
    assert message.startswith(param), message
    assert len(http.get("/v1/messages/batches", params={"limit": 1000}).json()["data"]) == before


def test_a_batch_of_100000_requests_is_accepted(http: httpx.Client) -> None:
    r = http.post("/v1/messages/batches", json=request_body(100_000))
    assert r.status_code == 200, r.text
    assert r.json()["request_counts"]["processing"] == 100_000


def test_malformed_json_and_a_missing_version_header(fast_url: str) -> None:
    with httpx.Client(base_url=fast_url) as plain:
        r = plain.post("/v1/messages/batches", content=b'{"requests": [', headers=V)
        assert envelope(r, 400).startswith("The request body is not valid JSON")
        message = envelope(plain.post("/v1/messages/batches", json=request_body(1)), 400)
        assert "anthropic-version" in message
        assert "anthropic-version" in envelope(plain.get("/v1/messages/batches"), 400)
        envelope(plain.put("/v1/messages/batches", headers=V), 405)
        envelope(plain.get("/v1/messages/batches/x/nothing", headers=V), 404, "not_found_error")


def test_a_body_past_the_limit_is_413(start_server) -> None:
    with start_server("--max-body-bytes", "2000") as url, httpx.Client(base_url=url, headers=V) as http:
        envelope(http.post("/v1/messages/batches", json=request_body(200)), 413, "request_too_large")


def test_results_past_the_storage_quota_are_errored(start_server) -> None:
    flags = ("--ttft", "0", "--itl", "0", "--batch-duration", "0", "--max-storage-bytes", "6000")
    with (
        start_server(*flags) as url,
        anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as claude,
        httpx.Client(base_url=url, headers=V) as http,
    ):
        requests = [{"custom_id": f"r{i}", "params": params(0, max_tokens=200)} for i in range(20)]
        done, _ = wait_ended(claude, claude.messages.batches.create(requests=requests).id)
        assert done.request_counts.errored == 20, done.request_counts
        results = list(claude.messages.batches.results(done.id))
        assert {r.result.type for r in results} == {"errored"}
        assert "storage quota" in results[0].result.error.error.message  # type: ignore[union-attr]
        # requests that do not fit at all: refused at creation
        big = [{"custom_id": f"r{i}", "params": params(0, system="x" * 500)} for i in range(20)]
        assert "storage quota" in envelope(http.post("/v1/messages/batches", json={"requests": big}), 400)


def test_workers_share_batches(start_server, tmp_path) -> None:
    flags = (
        "--workers",
        "2",
        "--ttft",
        "0",
        "--itl",
        "0",
        "--batch-duration",
        "0.5",
        "--data-dir",
        str(tmp_path),
    )
    with start_server(*flags) as url:
        ids = []
        for i in range(6):  # a new connection each: granian spreads them over the workers
            with httpx.Client(base_url=url, headers=V) as http:
                r = http.post(
                    "/v1/messages/batches", json={"requests": [{"custom_id": "a", "params": params(i)}]}
                )
                ids.append(r.json()["id"])
        seen: dict[str, set[str]] = {i: set() for i in ids}
        deadline = time.monotonic() + 30
        while any("ended" not in s for s in seen.values()):
            assert time.monotonic() < deadline, seen
            for batch_id in ids:
                with httpx.Client(base_url=url, headers=V) as http:
                    r = http.get(f"/v1/messages/batches/{batch_id}")
                    assert r.status_code == 200, r.text  # every worker knows every batch
                    seen[batch_id].add(r.json()["processing_status"])
            time.sleep(0.05)
        for batch_id in ids:
            with httpx.Client(base_url=url, headers=V) as http:
                lines = http.get(f"/v1/messages/batches/{batch_id}/results").content.splitlines()
                assert [json.loads(line)["result"]["type"] for line in lines] == ["succeeded"]
        with httpx.Client(base_url=url, headers=V) as http:
            listed = [b["id"] for b in http.get("/v1/messages/batches").json()["data"]]
        assert listed == ids[::-1]
