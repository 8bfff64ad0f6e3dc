"""The embedded store: objects, pages, compare-and-set, leases, quota, blobs, and several processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import orjson
import pytest

from fakeai.store import Conflict, StorageFull
from fakeai.store.sqlite import SQLiteStore


@pytest.fixture()
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path)


def body(obj: dict) -> int:
    """The bytes an object's body costs against the quota."""
    return len(orjson.dumps(obj))


def summed(store: SQLiteStore) -> int:
    """The storage total recomputed from scratch: what the running total must always equal."""
    return store._conn().execute("SELECT COALESCE(SUM(cost), 0) FROM objects").fetchone()[0]


def test_insert_get_delete(store: SQLiteStore) -> None:
    store.insert("file", {"id": "f1", "status": "processed", "n": 1}, tag="batch", size=10)
    assert store.get("file", "f1") == {"id": "f1", "status": "processed", "n": 1}
    assert store.get("file", "missing") is None
    with pytest.raises(Conflict):
        store.insert("file", {"id": "f1"})
    assert store.get("batch", "f1") is None
    assert store.used_bytes() == body({"id": "f1", "status": "processed", "n": 1}) + 10
    assert store.delete("file", "f1") == {"id": "f1", "status": "processed", "n": 1}
    assert store.delete("file", "f1") is None
    assert store.used_bytes() == 0


def test_pages_in_creation_order_with_cursor_and_tag(store: SQLiteStore) -> None:
    for i in range(5):
        store.insert("file", {"id": f"f{i}"}, tag="even" if i % 2 == 0 else "odd")
    data, more = store.page("file", limit=2)
    assert [o["id"] for o in data] == ["f4", "f3"] and more
    data, more = store.page("file", limit=2, after="f3")
    assert [o["id"] for o in data] == ["f2", "f1"] and more
    data, more = store.page("file", limit=2, after="f1")
    assert [o["id"] for o in data] == ["f0"] and not more
    data, _ = store.page("file", order="asc", after="f2")
    assert [o["id"] for o in data] == ["f3", "f4"]
    assert [o["id"] for o in store.page("file", tag="even")[0]] == ["f4", "f2", "f0"]
    assert [o["id"] for o in store.all("file", tag="odd")] == ["f1", "f3"]


def test_update_is_compare_and_set_on_status(store: SQLiteStore) -> None:
    store.insert("batch", {"id": "b", "status": "in_progress"})
    assert not store.update("batch", {"id": "b", "status": "cancelled"}, expect=("completed",))
    assert store.get("batch", "b")["status"] == "in_progress"
    assert store.update("batch", {"id": "b", "status": "completed"}, expect=("in_progress",))
    assert store.get("batch", "b")["status"] == "completed"


def test_leases_exclude_other_owners_until_expiry(store: SQLiteStore) -> None:
    store.insert("batch", {"id": "b", "status": "in_progress"})
    store.insert("batch", {"id": "done", "status": "completed"})
    assert store.claim("batch", ("in_progress",), "w1", 60)["id"] == "b"
    assert store.claim("batch", ("in_progress",), "w2", 60) is None
    assert not store.renew("batch", "b", "w2", 60)
    assert store.renew("batch", "b", "w1", -1)  # expire it
    assert store.claim("batch", ("in_progress",), "w2", 60)["id"] == "b"
    assert not store.renew("batch", "b", "w1", 60)
    store.release("batch", "b", "w2")
    assert store.claim("batch", ("in_progress",), "w1", 60)["id"] == "b"


def test_quota_counts_every_object(store: SQLiteStore) -> None:
    assert body({"id": "a"}) == 10
    store.insert("file", {"id": "a"}, size=50, quota=100)  # 60
    with pytest.raises(StorageFull):
        store.insert("file", {"id": "b"}, size=40, quota=100)
    assert store.get("file", "b") is None and store.used_bytes() == 60
    store.insert("file", {"id": "c"}, size=30, quota=100)  # exactly full
    with pytest.raises(StorageFull):  # a record without a blob costs its body: it is refused too
        store.insert("vector_store", {"id": "v"}, quota=100)
    store.insert("lanes", {"id": "l"})  # unchecked (the server's own): counted all the same
    assert store.used_bytes() == 110 == summed(store)
    store.delete("file", "a")
    store.insert("vector_store", {"id": "v"}, quota=100)
    assert store.used_bytes() == 60 == summed(store)


def test_every_record_costs_its_body_and_blob_and_the_total_follows_each_write(store: SQLiteStore) -> None:
    small, grown = (
        {"id": "vs", "status": "s", "metadata": {}},
        {"id": "vs", "status": "s", "metadata": {"k": "v" * 500}},
    )
    store.insert("vector_store", small)
    store.insert("file", {"id": "f"}, size=1000)
    for i in range(3):
        store.insert("vector_store.file", {"id": f"vs/{i}", "attributes": {"a": "x" * 100}}, tag="vs")
    expected = (
        body(small)
        + body({"id": "f"})
        + 1000
        + sum(body({"id": f"vs/{i}", "attributes": {"a": "x" * 100}}) for i in range(3))
    )
    assert store.used_bytes() == expected == summed(store)
    assert store.update("vector_store", grown)  # growth is counted ...
    assert store.used_bytes() == expected + body(grown) - body(small) == summed(store)
    assert store.update("vector_store", small, expect=("s",))  # ... and shrinking gives it back
    assert store.update_if("vector_store", grown, field="metadata", value=None) is False
    assert store.used_bytes() == expected == summed(store)
    assert store.delete_all("vector_store.file", tag="vs") == 3
    assert store.used_bytes() == body(small) + body({"id": "f"}) + 1000 == summed(store)
    # expiring objects count against their own budget, never here
    store.insert_expiring([("response", {"id": "r", "pad": "x" * 100})], 10**6)
    assert store.update("response", {"id": "r", "pad": "x" * 200})
    assert store.used_bytes() == body(small) + body({"id": "f"}) + 1000
    assert store.expiring_bytes() == body({"id": "r", "pad": "x" * 200})
    store.delete("vector_store", "vs")
    store.delete("file", "f")
    store.delete("response", "r")
    assert store.used_bytes() == 0 == store.expiring_bytes()


def test_an_update_past_the_quota_is_refused_and_changes_nothing(store: SQLiteStore) -> None:
    small = {"id": "p", "status": "active", "name": "n"}
    store.insert("org.project", small, quota=100)
    used = store.used_bytes()
    with pytest.raises(StorageFull):
        store.update("org.project", {**small, "name": "n" * 200}, quota=100)
    with pytest.raises(StorageFull):
        store.update_if("org.project", {**small, "name": "n" * 200}, field="rev", value=None, quota=100)
    assert store.get("org.project", "p") == small and store.used_bytes() == used
    assert store.update("org.project", {**small, "name": "m"}, quota=100)  # no growth: no check
    assert store.update("org.project", {**small, "name": "n" * 200})  # unchecked: counted only
    assert store.used_bytes() == body({**small, "name": "n" * 200}) > 100
    assert store.update("org.project", small, quota=100)  # shrinking is never refused
    assert store.used_bytes() == used


def test_a_quota_check_reads_the_running_total_instead_of_summing_the_table(store: SQLiteStore) -> None:
    for i in range(100):
        store.insert("file", {"id": f"f{i}"}, size=10)
    seen: list[str] = []
    store._conn().set_trace_callback(seen.append)
    store.insert("file", {"id": "g"}, size=10, quota=10**9)
    store.update("file", {"id": "g", "pad": "x"}, quota=10**9)
    store.delete("file", "g")
    store._conn().set_trace_callback(None)
    assert seen and not [sql for sql in seen if "SUM(" in sql.upper()]
    assert store.used_bytes() == summed(store) == sum(body({"id": f"f{i}"}) + 10 for i in range(100))


def test_blobs_appear_whole_on_commit(store: SQLiteStore) -> None:
    writer = store.blob_writer()
    writer.write(b"hello")
    assert not store.blob_path("k").exists()
    store.commit_blob(writer, "k")
    assert store.blob_path("k").read_bytes() == b"hello"
    other = store.blob_writer()
    store.discard_blob(other)
    assert list(store.tmp.iterdir()) == []
    store.delete_blob("k")
    assert not store.blob_path("k").exists()


def _writer(root: str, worker: int) -> None:
    store = SQLiteStore(Path(root))
    for i in range(200):
        store.insert("item", {"id": f"{worker}-{i}", "status": "new"}, size=1)
        blob = store.blob_writer()
        blob.write(f"{worker}-{i}".encode() * 100)
        store.commit_blob(blob, f"{worker}-{i}")
        store.claim("item", ("new",), f"w{worker}", 30)


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    SQLiteStore(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = SQLiteStore(tmp_path)
    items = store.all("item")
    assert len(items) == 800
    assert store.used_bytes() == 800 + sum(body(item) for item in items) == summed(store)
    for item in items:
        assert store.blob_path(item["id"]).read_bytes() == item["id"].encode() * 100


def test_expiring_objects_drop_the_oldest_groups_past_their_budget(store: SQLiteStore) -> None:
    def group(i: int) -> list[tuple[str, dict]]:
        return [
            ("response", {"id": f"r{i}", "pad": "x" * 100}),
            ("response.input", {"id": f"r{i}", "items": []}),
        ]

    size = sum(len(orjson.dumps(obj)) for _, obj in group(0))  # every group has this size
    budget = 3 * size
    assert [store.insert_expiring(group(i), budget) for i in range(3)] == [0, 0, 0]
    assert store.expiring_bytes() == 3 * size
    assert store.insert_expiring(group(3), budget) == 1  # the oldest group goes, both of its objects
    assert store.get("response", "r0") is None and store.get("response.input", "r0") is None
    assert store.get("response", "r1") is not None and store.expiring_bytes() == 3 * size
    # a client's delete gives the bytes back, so the next write drops nothing
    store.delete("response", "r1")
    store.delete("response.input", "r1")
    assert store.expiring_bytes() == 2 * size
    assert store.insert_expiring(group(4), budget) == 0
    assert [store.get("response", f"r{i}") is not None for i in range(5)] == [False, False, True, True, True]
    # files are not expiring: their quota does not see these bytes, and they never go
    store.insert("file", {"id": "f"}, size=10, quota=body({"id": "f"}) + 10)
    # a group larger than the whole budget is refused, and drops nothing (it used to drop every
    # other client's objects and be stored anyway)
    with pytest.raises(StorageFull):
        store.insert_expiring(group(5), 1)
    assert store.expiring_bytes() == 3 * size and store.get("response", "r5") is None
    assert store.insert_expiring(group(5), budget) == 1
    assert store.get("file", "f") is not None and store.get("response", "r5") is not None
    with pytest.raises(Conflict):
        store.insert_expiring(group(5), budget)
    assert store.expiring_bytes() == 3 * size


def test_concurrent_expiring_writers_keep_the_total_exact(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_write_expiring, [(tmp_path, w) for w in range(4)])
    store = SQLiteStore(tmp_path)
    kept = store.all("response")
    assert store.expiring_bytes() == sum(len(orjson.dumps(obj)) for obj in kept) <= 2_000
    assert len(kept) < 200  # the budget dropped most of them


def _write_expiring(args: tuple[Path, int]) -> None:
    root, worker = args
    store = SQLiteStore(root)
    for i in range(50):
        store.insert_expiring([("response", {"id": f"w{worker}-{i}", "pad": "y" * 50})], 2_000)


def test_pages_filter_by_metadata_pairs(store: SQLiteStore) -> None:
    for i in range(4):
        metadata = {"run": "a" if i < 3 else "b", "i": str(i % 2), "odd key \"'.$[": "v"}
        store.insert_expiring([("chat.completion", {"id": f"c{i}", "metadata": metadata})], 10**6, tag="m")
    store.insert_expiring([("chat.completion", {"id": "c4", "metadata": {"run": 1}})], 10**6)
    store.insert_expiring([("chat.completion", {"id": "c5"})], 10**6)

    def ids(**kwargs: object) -> list[str]:
        return [o["id"] for o in store.page("chat.completion", order="asc", **kwargs)[0]]  # type: ignore[arg-type]

    assert ids(metadata={"run": "a"}) == ["c0", "c1", "c2"]
    assert ids(metadata={"run": "a", "i": "1"}) == ["c1"]
    assert ids(metadata={"odd key \"'.$[": "v"}, tag="m") == ["c0", "c1", "c2", "c3"]
    assert ids(metadata={"run": "1"}) == []  # a number is not the string "1"
    assert ids(metadata={"run": "a"}, after="c0", limit=1) == ["c1"]
    assert ids(metadata={}) == ids() == [f"c{i}" for i in range(6)]


def test_updating_an_expiring_object_counts_its_new_size(store: SQLiteStore) -> None:
    small = {"id": "c", "metadata": {}}
    store.insert_expiring([("chat.completion", small), ("chat.completion.messages", {"id": "c"})], 10**6)
    before = store.expiring_bytes()
    grown = {**small, "metadata": {"k": "v" * 500}}
    assert store.update("chat.completion", grown)
    assert store.expiring_bytes() == before + len(orjson.dumps(grown)) - len(orjson.dumps(small))
    assert not store.update("chat.completion", {"id": "missing"})
    store.delete("chat.completion", "c")
    store.delete("chat.completion.messages", "c")
    assert store.expiring_bytes() == 0
    store.insert("batch", {"id": "b", "status": "a"})  # not expiring: the total does not move
    assert store.update("batch", {"id": "b", "status": "b", "pad": "x" * 100}) and store.expiring_bytes() == 0
    assert store.used_bytes() == body({"id": "b", "status": "b", "pad": "x" * 100})


def _group(i: int) -> list[tuple[str, dict]]:
    return [("response", {"id": f"r{i}", "pad": "x" * 100}), ("response.input", {"id": f"r{i}"})]


GROUP_BYTES = sum(len(orjson.dumps(obj)) for _, obj in _group(0))


def test_touch_moves_an_expiring_group_to_the_back_of_the_queue(store: SQLiteStore) -> None:
    budget = 3 * GROUP_BYTES
    for i in range(3):
        store.insert_expiring(_group(i), budget)
    assert store.touch("response.input", "r0")  # any object of the group moves all of it
    assert store.insert_expiring(_group(3), budget) == 1
    assert store.get("response", "r1") is None and store.get("response", "r0") is not None
    assert store.get("response.input", "r0") is not None
    assert store.insert_expiring(_group(4), budget) == 1 and store.get("response", "r2") is None
    assert store.touch("response", "r0") and store.insert_expiring(_group(5), budget) == 1
    assert [o["id"] for o in store.all("response")] == ["r0", "r4", "r5"]  # creation order kept
    assert [o["id"] for o in store.page("response", order="asc")[0]] == ["r0", "r4", "r5"]
    assert not store.touch("response", "r1")  # gone
    store.insert("file", {"id": "f"})
    assert not store.touch("file", "f")  # not expiring
    assert store.expiring_bytes() == 3 * GROUP_BYTES


def test_an_object_sharing_a_blob_counts_only_once_its_owner_is_gone(store: SQLiteStore) -> None:
    copy = body({"id": "c0"})  # each copy's body, counted from the start
    store.insert("file", {"id": "f"}, size=60, quota=200)
    for i in range(3):  # links of f's blob: the bytes on disk are f's
        store.insert("copy", {"id": f"c{i}"}, size=60, quota=200, shares=("file", "f"))
    assert store.used_bytes() == body({"id": "f"}) + 60 + 3 * copy == summed(store)
    with pytest.raises(StorageFull):
        store.insert("file", {"id": "g"}, size=200 - store.used_bytes(), quota=200)
    store.delete("file", "f")  # its inode lives on in the copies: each counts now
    assert store.used_bytes() == 3 * (copy + 60) == summed(store)
    with pytest.raises(StorageFull):
        store.insert("copy", {"id": "late"}, size=1, quota=store.used_bytes() + copy, shares=("file", "f"))
    store.delete("copy", "c0")
    store.delete("copy", "c1")
    assert store.used_bytes() == copy + 60 == summed(store)
    store.insert("file", {"id": "g"}, size=200 - copy - 60 - body({"id": "g"}), quota=200)
    store.delete("copy", "c2")
    store.delete("file", "g")
    assert store.used_bytes() == 0


def test_orphans_are_the_objects_whose_owner_is_gone(store: SQLiteStore) -> None:
    for i in range(3):
        store.insert_expiring([("box", {"id": f"b{i}", "pad": "x" * 100})], 10**6)
        store.insert("box.file", {"id": f"f{i}"}, tag=f"b{i}")
    assert store.orphans("box.file", "box") == []
    store.delete("box", "b1")
    budget = store.expiring_bytes()
    store.insert_expiring([("response", {"id": "r", "pad": "x" * 100})], budget)  # drops b0
    assert store.get("box", "b0") is None and store.get("box", "b2") is not None
    assert [o["id"] for o in store.orphans("box.file", "box")] == ["f0", "f1"]
    assert [o["id"] for o in store.orphans("box.file", "box", limit=1)] == ["f0"]


def test_a_data_directory_of_an_earlier_version_gains_the_new_columns(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "fakeai.db")
    old.execute("PRAGMA journal_mode=WAL")  # as every version made it
    old.executescript(
        """
        CREATE TABLE objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT, lease_until REAL NOT NULL DEFAULT 0, body BLOB NOT NULL, UNIQUE (kind, id));
        CREATE TABLE expiring (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, bytes INTEGER NOT NULL);
        CREATE TABLE expiring_total (one INTEGER PRIMARY KEY CHECK (one = 1), bytes INTEGER NOT NULL);
        INSERT INTO expiring_total VALUES (1, 0);
        """
    )
    old.close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:  # two workers opening it at once
        pool.map(_open, [tmp_path, tmp_path])
    store = SQLiteStore(tmp_path)
    budget = 3 * GROUP_BYTES
    for i in range(3):
        store.insert_expiring(_group(i), budget)
    store.insert("file", {"id": "f"}, size=10, quota=body({"id": "f"}) + 10)
    store.insert(
        "copy", {"id": "c"}, size=10, quota=body({"id": "f"}) + 10 + body({"id": "c"}), shares=("file", "f")
    )
    assert store.touch("response", "r0") and store.insert_expiring(_group(3), budget) == 1
    assert store.get("response", "r1") is None and store.get("response", "r0") is not None


def _open(root: Path) -> None:
    SQLiteStore(root)


def test_a_data_directory_of_the_previous_version_has_its_storage_total_summed_once(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "fakeai.db")
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(
        """
        CREATE TABLE objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT, lease_until REAL NOT NULL DEFAULT 0, body BLOB NOT NULL, shares_kind TEXT,
            shares_id TEXT, UNIQUE (kind, id));
        CREATE TABLE expiring (first INTEGER PRIMARY KEY, last INTEGER NOT NULL, bytes INTEGER NOT NULL,
            turn INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE expiring_total (one INTEGER PRIMARY KEY CHECK (one = 1), bytes INTEGER NOT NULL);
        INSERT INTO expiring_total VALUES (1, 0);
        """
    )
    rows = [  # (kind, id, size, shares): an owner, a copy of it, a copy whose owner went, a plain record
        ("file", "f", 100, None),
        ("copy", "c1", 100, ("file", "f")),
        ("copy", "c2", 50, ("file", "gone")),
        ("vector_store", "vs", 0, None),
    ]
    for kind, id, size, shares in rows[:2]:
        old.execute(
            "INSERT INTO objects (kind, id, size, body, shares_kind, shares_id) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, id, size, orjson.dumps({"id": id}), *(shares or (None, None))),
        )
    for i in range(2):  # an expiring group between them: counted by its budget, not here
        old.execute(
            "INSERT INTO objects (kind, id, body) VALUES ('response', ?, ?)", (f"r{i}", b'{"id":"r"}')
        )
    old.execute("INSERT INTO expiring VALUES (3, 4, 20, 1)")
    for kind, id, size, shares in rows[2:]:
        old.execute(
            "INSERT INTO objects (kind, id, size, body, shares_kind, shares_id) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, id, size, orjson.dumps({"id": id}), *(shares or (None, None))),
        )
    old.commit()
    old.close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:  # two workers opening it at once
        pool.map(_open, [tmp_path, tmp_path])
    store = SQLiteStore(tmp_path)
    expected = body({"id": "f"}) + 100 + body({"id": "c1"}) + body({"id": "c2"}) + 50 + body({"id": "vs"})
    assert store.used_bytes() == expected == summed(store)
    store.delete("file", "f")  # the migrated copy takes its owner's blob over
    assert store.used_bytes() == expected - body({"id": "f"}) == summed(store)
    store.delete("response", "r0")
    assert store.used_bytes() == expected - body({"id": "f"})


def test_a_worker_opening_a_prepared_store_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    """Switching a new database to WAL takes an exclusive lock SQLite does not wait for: a worker
    opening it while another wrote failed with "database is locked" (and granian replaced it). The
    server prepares the database before its workers start; then opening waits for the writer."""

    def open_during_a_write(root: Path) -> None:
        root.mkdir(exist_ok=True)
        writer = sqlite3.connect(root / "fakeai.db", isolation_level=None, check_same_thread=False)
        writer.execute("CREATE TABLE IF NOT EXISTS held (x)")
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO held VALUES (1)")
        done = threading.Timer(0.3, writer.execute, ("COMMIT",))
        done.start()
        try:
            SQLiteStore(root).insert("file", {"id": "f1"})
        finally:
            done.join()
            writer.close()

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        open_during_a_write(tmp_path / "new")
    SQLiteStore.prepare(tmp_path / "prepared")
    open_during_a_write(tmp_path / "prepared")
    check = sqlite3.connect(tmp_path / "prepared" / "fakeai.db")
    assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    check.close()


def test_update_if_is_compare_and_set_on_a_body_field(store: SQLiteStore) -> None:
    store.insert("vsf", {"id": "a", "status": "in_progress", "n": 1})  # no revision yet: absent matches None
    assert not store.update_if("vsf", {"id": "a", "status": "done", "rev": "r1"}, field="rev", value="r0")
    assert store.update_if("vsf", {"id": "a", "status": "done", "rev": "r1"}, field="rev", value=None)
    assert store.get("vsf", "a") == {"id": "a", "status": "done", "rev": "r1"}
    assert store.count_by_status("vsf", tag="") == {"done": 1}  # the status column follows the body
    assert not store.update_if("vsf", {"id": "a", "rev": "r2"}, field="rev", value="r0")  # stale
    assert store.update_if("vsf", {"id": "a", "status": "done", "rev": "r2"}, field="rev", value="r1")
    assert store.update_if("vsf", {"id": "a", "rev": 3}, field="rev", value="r2")
    assert store.update_if("vsf", {"id": "a", "rev": 4}, field="rev", value=3)  # numbers compare too
    assert not store.update_if("vsf", {"id": "gone", "rev": 1}, field="rev", value=None)


def test_count_by_status_and_pages_of_one_status(store: SQLiteStore) -> None:
    for i, status in enumerate(["done", "failed", "done", "queued", "done"]):
        store.insert("vsf", {"id": f"f{i}", "status": status}, tag="vs1")
    store.insert("vsf", {"id": "other", "status": "done"}, tag="vs2")
    assert store.count_by_status("vsf", tag="vs1") == {"done": 3, "failed": 1, "queued": 1}
    assert store.count_by_status("vsf", tag="none") == {}
    data, more = store.page("vsf", tag="vs1", status="done", limit=2)
    assert [o["id"] for o in data] == ["f4", "f2"] and more
    data, more = store.page("vsf", tag="vs1", status="done", limit=2, after="f3")  # any cursor works
    assert [o["id"] for o in data] == ["f2", "f0"] and not more
    plan = store._conn().execute(
        "EXPLAIN QUERY PLAN SELECT status, COUNT(*) FROM objects WHERE kind = ? AND tag = ? GROUP BY status",
        ("vsf", "vs1"),
    )
    assert "COVERING INDEX objects_tag_status" in " ".join(str(row) for row in plan)  # no body is read
