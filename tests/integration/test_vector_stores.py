"""``/v1/vector_stores`` through the official SDK: files are chunked, embedded and searchable."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

DOCS = {
    "rust.txt": "Rust is a systems programming language. The borrow checker enforces memory safety "
    "without a garbage collector, and cargo builds and tests crates.",
    "cooking.txt": "To bake sourdough bread, feed the starter, mix flour and water, let the dough rise "
    "overnight and bake it in a hot oven until the crust is dark.",
    "birds.txt": "Migratory birds such as swallows and geese fly south in autumn, navigating by the sun, "
    "the stars and the magnetic field of the earth.",
}


def settle(client: openai.OpenAI, vs_id: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        vs = client.vector_stores.retrieve(vs_id)
        if vs.status != "in_progress":
            return vs
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture()
def store_with_docs(client: openai.OpenAI):
    files = {
        name: client.files.create(file=(name, text.encode()), purpose="assistants")
        for name, text in DOCS.items()
    }
    vs = client.vector_stores.create(
        name="docs", file_ids=[f.id for f in files.values()], metadata={"team": "a"}
    )
    assert vs.object == "vector_store" and vs.name == "docs" and vs.file_counts.total == 3
    assert settle(client, vs.id).file_counts.completed == 3
    return vs, files


def test_search_ranks_the_relevant_file_first(client: openai.OpenAI, store_with_docs) -> None:
    vs, files = store_with_docs
    for query, expected in [
        ("how does the borrow checker give memory safety", "rust.txt"),
        ("sourdough bread dough in the oven", "cooking.txt"),
        ("why do geese fly south", "birds.txt"),
    ]:
        results = client.vector_stores.search(vs.id, query=query, max_num_results=3).data
        assert results[0].filename == expected and results[0].file_id == files[expected].id
        assert results[0].content[0].type == "text" and results[0].content[0].text in DOCS[expected]
        assert results[0].score > results[-1].score
        assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert len(client.vector_stores.search(vs.id, query="bread", max_num_results=1).data) == 1
    high = client.vector_stores.search(vs.id, query="bread", ranking_options={"score_threshold": 0.99}).data
    assert high == []


def test_static_chunking_and_attributes(client: openai.OpenAI) -> None:
    words = " ".join(f"word{i}" for i in range(1000))
    f = client.files.create(file=("long.txt", words.encode()), purpose="assistants")
    vs = client.vector_stores.create(name="chunks")
    strategy = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}
    vsf = client.vector_stores.files.create(
        vs.id, file_id=f.id, chunking_strategy=strategy, attributes={"lang": "en", "year": 2024}
    )
    assert vsf.id == f.id and vsf.status == "in_progress" and vsf.vector_store_id == vs.id
    assert vsf.chunking_strategy.static.max_chunk_size_tokens == 100
    settle(client, vs.id)
    done = client.vector_stores.files.retrieve(f.id, vector_store_id=vs.id)
    assert (
        done.status == "completed"
        and done.usage_bytes > 0
        and done.attributes == {"lang": "en", "year": 2024}
    )
    raw = client.vector_stores.files.with_raw_response.retrieve(
        f.id, vector_store_id=vs.id
    ).http_response.json()
    assert (
        raw["attributes"] == {"lang": "en", "year": 2024} and type(raw["attributes"]["year"]) is int
    )  # not 2024.0
    results = client.vector_stores.search(vs.id, query="word500", max_num_results=50).data
    assert "word500" in results[0].content[0].text
    assert all(len(r.content[0].text.split()) <= 100 for r in results)
    by_year = client.vector_stores.search(
        vs.id, query="word5", filters={"type": "gte", "key": "year", "value": 2025}
    )
    assert by_year.data == []
    by_lang = client.vector_stores.search(
        vs.id, query="word5", filters={"type": "eq", "key": "lang", "value": "en"}
    )
    assert by_lang.data
    assert client.vector_stores.retrieve(vs.id).usage_bytes == done.usage_bytes
    assert [x.id for x in client.vector_stores.files.list(vs.id, filter="completed")] == [f.id]
    assert client.vector_stores.files.list(vs.id, filter="failed").data == []
    updated = client.vector_stores.files.update(f.id, vector_store_id=vs.id, attributes={"lang": "fr"})
    assert updated.attributes == {"lang": "fr"}
    assert client.vector_stores.files.delete(f.id, vector_store_id=vs.id).deleted
    assert client.vector_stores.search(vs.id, query="word500").data == []


def test_file_batches_and_failures(client: openai.OpenAI) -> None:
    good = client.files.create(file=("a.txt", b"alpha beta gamma"), purpose="assistants")
    binary = client.files.create(file=("b.bin", b"\xff\xfe\x00binary"), purpose="assistants")
    vs = client.vector_stores.create(name="batch")
    batch = client.vector_stores.file_batches.create(vs.id, file_ids=[good.id, binary.id])
    assert batch.object == "vector_store.files_batch" and batch.file_counts.total == 2
    deadline = time.monotonic() + 20
    while batch.status == "in_progress" and time.monotonic() < deadline:
        time.sleep(0.05)
        batch = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=vs.id)
    assert batch.status == "completed" and (batch.file_counts.completed, batch.file_counts.failed) == (1, 1)
    failed = client.vector_stores.files.retrieve(binary.id, vector_store_id=vs.id)
    assert failed.status == "failed" and failed.last_error.code == "unsupported_file"
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=vs.id)
    assert {f.id for f in listed} == {good.id, binary.id}
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.file_batches.cancel(batch.id, vector_store_id=vs.id)


def test_a_file_over_five_million_tokens_fails_to_index(client: openai.OpenAI) -> None:
    """OpenAI's limit per file, which also bounds the index's memory (before, 45 MB of text in
    100-token chunks built a 200 MB matrix in the worker; a 512 MB file would have taken gigabytes)."""
    big = client.files.create(file=("big.txt", b"a\n" * 2_500_001), purpose="assistants")  # 5,000,002 tokens
    fits = client.files.create(file=("fits.txt", b"a\n" * 2_499_999), purpose="assistants")
    vs = client.vector_stores.create(name="big", file_ids=[big.id, fits.id])
    assert settle(client, vs.id, timeout=60).file_counts.failed == 1
    failed = client.vector_stores.files.retrieve(big.id, vector_store_id=vs.id)
    assert failed.status == "failed" and failed.last_error.code == "invalid_file"
    assert "5,000,002 tokens" in failed.last_error.message
    assert client.vector_stores.files.retrieve(fits.id, vector_store_id=vs.id).status == "completed"


def test_crud_and_bad_inputs(client: openai.OpenAI) -> None:
    vs = client.vector_stores.create(name="x", expires_after={"anchor": "last_active_at", "days": 2})
    assert vs.expires_at == vs.last_active_at + 2 * 86400 and vs.status == "completed"
    modified = client.vector_stores.update(vs.id, name="y", metadata={"k": "v"})
    assert modified.name == "y" and modified.metadata == {"k": "v"}
    assert vs.id in [v.id for v in client.vector_stores.list(limit=100)]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve("vs_nope")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_nope", query="q")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vs.id, file_id="file-nope")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve("file-nope", vector_store_id=vs.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.create(file_ids=["file-nope"])
    bad_strategy = {"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}}
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.create(chunking_strategy=bad_strategy)
    assert exc.value.body["param"] == "chunking_strategy.static.max_chunk_size_tokens"
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.search(vs.id, query="q", max_num_results=0)
    assert exc.value.body["param"] == "max_num_results"
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.search(vs.id, query="q", filters={"type": "like", "key": "a", "value": 1})
    assert exc.value.body["param"] == "filters"
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.create(expires_after={"anchor": "created_at", "days": 1})
    assert exc.value.body["param"] == "expires_after"
    deleted = client.vector_stores.delete(vs.id)
    assert deleted.deleted and deleted.object == "vector_store.deleted"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.delete(vs.id)


def test_search_filters_are_checked_field_by_field(client: openai.OpenAI) -> None:
    """A filter's ``key`` that is not a string once reached ``attributes.get`` of an indexed file: a
    500 (unhashable list); every field is now checked, with a 400 naming it."""
    f = client.files.create(file=("fox.txt", b"the quick brown fox"), purpose="assistants")
    vs = client.vector_stores.create(name="filters")
    client.vector_stores.files.create(vs.id, file_id=f.id, attributes={"a": 1, "lang": "en"})
    settle(client, vs.id)

    def param(filters: object) -> str:
        with pytest.raises(openai.BadRequestError) as exc:
            client.vector_stores.search(vs.id, query="fox", filters=filters)  # type: ignore[arg-type]
        return exc.value.body["param"]

    assert param({"type": "eq", "key": ["a"], "value": 1}) == "filters.key"
    assert param({"type": "gt", "key": {"x": 1}, "value": 1}) == "filters.key"
    assert param({"type": "eq", "key": "k" * 65, "value": 1}) == "filters.key"
    assert param({"type": "in", "key": "a", "value": [{"a": 1}]}) == "filters.value"
    assert param({"type": "eq", "key": "a", "value": "v" * 513}) == "filters.value"
    assert param({"type": "and", "filters": {}}) == "filters.filters"
    assert param({"type": "or", "filters": []}) == "filters.filters"
    assert (
        param({"type": "or", "filters": [{"type": "eq", "key": 5, "value": 1}]}) == "filters.filters[0].key"
    )
    assert param({"type": "or", "filters": [{"type": "eq", "key": "a"}]}) == "filters.filters[0]"
    deep: dict = {"type": "eq", "key": "a", "value": 1}
    for _ in range(9):
        deep = {"type": "and", "filters": [deep]}
    assert param(deep).startswith("filters")
    wide = {"type": "or", "filters": [{"type": "eq", "key": "a", "value": i} for i in range(1001)]}
    assert param(wide) == "filters"
    assert param({"type": "in", "key": "a", "value": list(range(1001))}) == "filters"
    fine = {
        "type": "and",
        "filters": [
            {"type": "in", "key": "a", "value": [1, 2]},
            {"type": "or", "filters": [{"type": "eq", "key": "lang", "value": "en"}]},
        ],
    }
    assert client.vector_stores.search(vs.id, query="fox", filters=fine).data  # type: ignore[arg-type]
    assert not client.vector_stores.search(
        vs.id, query="fox", filters={"type": "nin", "key": "a", "value": 1}
    ).data


def test_stored_text_and_lists_are_bounded(client: openai.OpenAI, http) -> None:
    """Names, descriptions, attribute values and id lists were stored at any length (growing the
    database outside the storage quota): each is bounded, a 400 naming it."""
    f = client.files.create(file=("a.txt", b"alpha"), purpose="assistants")
    vs = client.vector_stores.create(name="n" * 256)

    def param(method: str, path: str, body: dict) -> str:
        r = http.request(method, path, json=body)
        assert r.status_code == 400, r.text
        return r.json()["error"]["param"]

    assert param("POST", "/v1/vector_stores", {"name": "n" * 257}) == "name"
    assert param("POST", "/v1/vector_stores", {"description": "d" * 513}) == "description"
    assert param("POST", f"/v1/vector_stores/{vs.id}", {"name": "n" * 257}) == "name"
    assert param("POST", f"/v1/vector_stores/{vs.id}", {"metadata": {"k": "v" * 513}}) == "metadata.k"
    assert param("POST", "/v1/vector_stores", {"file_ids": [f.id] * 501}) == "file_ids"
    files = f"/v1/vector_stores/{vs.id}/files"
    assert param("POST", files, {"file_id": f.id, "attributes": {"a": "x" * 513}}) == "attributes.a"
    assert (
        param("POST", files, {"file_id": f.id, "attributes": {str(i): 1 for i in range(17)}}) == "attributes"
    )
    assert param("POST", files, {"file_id": f.id, "attributes": {"k" * 65: 1}}).startswith("attributes.")
    batches = f"/v1/vector_stores/{vs.id}/file_batches"
    assert param("POST", batches, {"file_ids": [f.id] * 2001}) == "file_ids"
    body = {"files": [{"file_id": f.id}, {"file_id": f.id, "attributes": {"a": "x" * 513}}]}
    assert param("POST", batches, body) == "files[1].attributes.a"
    vsf = client.vector_stores.files.create(vs.id, file_id=f.id, attributes={"a": "x" * 512})
    assert vsf.attributes == {"a": "x" * 512}
    assert param("POST", f"{files}/{f.id}", {"attributes": {"a": "x" * 513}}) == "attributes.a"
    search = f"/v1/vector_stores/{vs.id}/search"  # a query is embedded once per file searched
    assert param("POST", search, {"query": "q" * 4097}) == "query"
    assert param("POST", search, {"query": ["q"] * 17}) == "query"
    assert http.post(search, json={"query": ["q" * 4096] * 16}).status_code == 200


def test_a_batch_of_repeated_file_ids_attaches_each_file_once(client: openai.OpenAI) -> None:
    """100,000 copies of one id once made 100,000 sequential store writes on the event loop (30 s,
    stalling every client of the worker): ids are capped at OpenAI's 2,000, de-duplicated, and
    attached off the loop."""
    a = client.files.create(file=("a.txt", b"alpha"), purpose="assistants")
    b = client.files.create(file=("b.txt", b"beta"), purpose="assistants")
    vs = client.vector_stores.create(name="dup", file_ids=[a.id, a.id, b.id])
    assert vs.file_counts.total == 2
    batch = client.vector_stores.file_batches.create(vs.id, file_ids=[a.id, b.id] * 1000)
    assert batch.file_counts.total == 2
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.file_batches.create(vs.id, file_ids=[a.id] * 2001)
    assert exc.value.body["param"] == "file_ids"
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=vs.id)
    assert sorted(x.id for x in listed) == sorted([a.id, b.id])
    files = [{"file_id": a.id, "attributes": {"n": 1}}, {"file_id": a.id, "attributes": {"n": 2}}]
    again = client.vector_stores.file_batches.create(vs.id, files=files)  # type: ignore[arg-type]
    assert again.file_counts.total == 1
    assert client.vector_stores.files.retrieve(a.id, vector_store_id=vs.id).attributes == {"n": 2}


def test_booleans_are_not_numbers(client: openai.OpenAI) -> None:
    """JSON ``true`` passed ``isinstance(x, int)``: a threshold or overlap of ``true`` was accepted."""
    vs = client.vector_stores.create(name="bools")
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.search(vs.id, query="q", ranking_options={"score_threshold": True})  # type: ignore[typeddict-item]
    assert exc.value.body["param"] == "ranking_options.score_threshold"
    strategy = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": True}}
    with pytest.raises(openai.BadRequestError) as exc:
        client.vector_stores.create(chunking_strategy=strategy)  # type: ignore[arg-type]
    assert exc.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"


def two_workers(start_server, data_dir: Path):
    return start_server("--ttft", "0", "--itl", "0", "--workers", "2", "--data-dir", str(data_dir))


def test_concurrent_writers_of_a_vector_store_lose_nothing(start_server, tmp_path: Path) -> None:
    """Each writer saved the whole object it had read: of two concurrent modifies (one ``name``, one
    ``metadata``) one was lost in a third of the trials, and a search's ``last_active_at`` write undid a
    modify made meanwhile. Each now changes only its own fields, compare-and-set, retried."""

    async def trials(url: str) -> list[str]:
        lost = []
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            for t in range(20):
                vs = (await c.post("/v1/vector_stores", json={"name": "orig"})).json()["id"]
                expiry = {"anchor": "last_active_at", "days": 3}
                await asyncio.gather(
                    c.post(f"/v1/vector_stores/{vs}", json={"name": f"new{t}"}),
                    c.post(f"/v1/vector_stores/{vs}", json={"metadata": {"k": "v"}}),
                    c.post(f"/v1/vector_stores/{vs}", json={"expires_after": expiry}),
                    c.post(f"/v1/vector_stores/{vs}/search", json={"query": "x"}),
                )
                got = (await c.get(f"/v1/vector_stores/{vs}")).json()
                lost += [f"name {t}"] if got["name"] != f"new{t}" else []
                lost += [f"metadata {t}"] if got["metadata"] != {"k": "v"} else []
                lost += [f"expires_after {t}"] if got["expires_after"] != expiry else []
                assert "revision" not in got
        return lost

    with two_workers(start_server, tmp_path) as url:
        assert asyncio.run(trials(url)) == []


def test_an_attributes_update_made_while_the_file_indexes_survives(client: openai.OpenAI) -> None:
    """The indexer saved ``{**file as it was claimed, **result}``: an ``attributes`` update made while it
    worked was undone when the file completed."""
    big = client.files.create(file=("big.txt", b"a\n" * 2_400_000), purpose="assistants")  # ~0.5 s to index
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    raced = 0
    for n, delay in enumerate([0.15, 0.25, 0.35]):  # after the poller (every 0.1 s) took it up
        vs = client.vector_stores.create(name=f"attrs{n}")
        client.vector_stores.files.create(vs.id, file_id=big.id, chunking_strategy=small, attributes={"n": 0})
        time.sleep(delay)
        updated = client.vector_stores.files.update(big.id, vector_store_id=vs.id, attributes={"n": n + 1})
        raced += updated.status == "in_progress"
        settle(client, vs.id, timeout=60)
        done = client.vector_stores.files.retrieve(big.id, vector_store_id=vs.id)
        assert done.status == "completed" and done.attributes == {"n": n + 1}
        assert client.vector_stores.retrieve(vs.id).usage_bytes == done.usage_bytes > 0
    assert raced  # at least one update landed while the file indexed


def test_deleting_a_store_while_files_are_attached_leaves_none_behind(start_server, tmp_path: Path) -> None:
    """A delete racing attaches (and a file batch) left ``vector_store.file`` rows of the deleted store
    in the database, never swept: 52 in 30 trials. The store goes first now, and an attach that finds
    it gone after inserting its file removes that file."""
    orphans = (
        "SELECT COUNT(*) FROM objects o WHERE kind IN ('vector_store.file', 'vector_store.file_batch') "
        "AND NOT EXISTS (SELECT 1 FROM objects v WHERE v.kind = 'vector_store' AND v.id = o.tag)"
    )

    async def trials(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            upload = {"purpose": "assistants"}
            fids = [
                (await c.post("/v1/files", files={"file": ("a.txt", b"hi " * 10)}, data=upload)).json()["id"]
                for _ in range(12)
            ]
            for t in range(20):
                vs = (await c.post("/v1/vector_stores", json={"name": "x"})).json()["id"]

                async def delete(vs: str = vs, t: int = t) -> httpx.Response:
                    await asyncio.sleep(0.002 * (t % 10))
                    return await c.delete(f"/v1/vector_stores/{vs}")

                files = [c.post(f"/v1/vector_stores/{vs}/files", json={"file_id": f}) for f in fids]
                batch = c.post(f"/v1/vector_stores/{vs}/file_batches", json={"file_ids": fids[:3]})
                answers = await asyncio.gather(delete(), batch, *files)
                assert answers[0].status_code == 200
                assert all(a.status_code in (200, 404) for a in answers), [a.text for a in answers]
                assert (await c.get(f"/v1/vector_stores/{vs}/files")).status_code == 404

    with two_workers(start_server, tmp_path) as url:
        asyncio.run(trials(url))
        time.sleep(0.5)  # an indexer finishing a removed file
        db = sqlite3.connect(f"file:{tmp_path / 'fakeai.db'}?mode=ro", uri=True)
        assert db.execute(orphans).fetchone() == (0,)


def test_file_pages_counts_and_usage_follow_the_files(client: openai.OpenAI) -> None:
    """A store's files are listed a page at a time from the store (by status with ``filter``, from any
    file with ``after``), and its counts and ``usage_bytes`` follow files completing and going."""
    files = [
        client.files.create(file=(f"{i}.txt", f"text {i}".encode()), purpose="assistants") for i in range(5)
    ]
    binary = client.files.create(file=("b.bin", b"\xff\xfe\x00"), purpose="assistants")
    vs = client.vector_stores.create(name="pages", file_ids=[f.id for f in [*files, binary]])
    done = settle(client, vs.id)
    assert (done.file_counts.completed, done.file_counts.failed, done.file_counts.total) == (5, 1, 6)
    ids = [f.id for f in files]
    first = client.vector_stores.files.list(vs.id, limit=2, order="asc", filter="completed")
    assert [f.id for f in first.data] == ids[:2] and first.has_more
    rest = client.vector_stores.files.list(vs.id, limit=10, order="asc", after=ids[1], filter="completed")
    assert [f.id for f in rest.data] == ids[2:] and not rest.has_more
    newest = client.vector_stores.files.list(vs.id, limit=2)
    assert [f.id for f in newest.data] == [binary.id, ids[4]] and newest.has_more
    assert [f.id for f in client.vector_stores.files.list(vs.id, after=binary.id, limit=1).data] == [ids[4]]
    assert [f.id for f in client.vector_stores.files.list(vs.id, filter="failed").data] == [binary.id]
    assert client.vector_stores.files.list(vs.id, after="file-unknown").data == []
    sizes = [client.vector_stores.files.retrieve(i, vector_store_id=vs.id).usage_bytes for i in ids]
    assert done.usage_bytes == sum(sizes) > 0
    client.vector_stores.files.delete(ids[0], vector_store_id=vs.id)
    client.vector_stores.files.create(vs.id, file_id=ids[1])  # attached again: indexed again
    after = settle(client, vs.id)
    assert (after.file_counts.completed, after.file_counts.total) == (4, 5)
    assert after.usage_bytes == sum(sizes[1:])
    assert client.vector_stores.search(vs.id, query="text 1").data[0].file_id == ids[1]
