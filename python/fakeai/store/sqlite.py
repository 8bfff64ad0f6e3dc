"""The embedded backend: SQLite (WAL) for objects and leases, a data directory for blobs.

Every worker process of one server opens the same directory. SQLite serialises writers across
processes (``BEGIN IMMEDIATE`` with a busy timeout) and WAL lets readers run beside a writer; each
thread gets its own connection, as :mod:`sqlite3` requires. Blobs are written to ``tmp/`` and renamed
into ``blobs/``, so a reader sees a whole blob or none, whatever the writers do concurrently.

Expiring groups are dropped in the order of their ``turn`` (the last one given out plus one, when the
group is added or :meth:`~SQLiteStore.touch` moves it), not of their objects' ``seq``: moving a group to
the back of the queue leaves the objects' creation order (what pages follow) alone.

Storage accounting (``--max-storage-bytes``) is the database's, so every worker agrees: each row that
does not expire holds its ``cost``, the bytes of its JSON body plus its blob's ``size`` (not while its
blob is a hard link of a live owner's, see :mod:`fakeai.store.base`), and ``storage_total`` keeps their
sum, changed in the transaction of every insert, update and delete. So a quota check is one read, never
a scan. An expiring row has cost 0 (its body counts against its group's budget instead), so ``cost > 0``
tells the two apart. When an owner goes, its sharers take over their sizes (their ``shares_*`` cleared),
found through a partial index. Every write is counted; only the writes given a ``quota`` are checked.

A data directory of an earlier version gains the ``shares_*``, ``turn`` and ``cost`` columns when it is
opened, and its ``storage_total`` is summed once then (:func:`_migrate`).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

import orjson

from fakeai.store.base import Cap, Conflict, Missing, Obj, StorageFull

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    tag TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    shares_kind TEXT,
    shares_id TEXT,
    cost INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_tag ON objects (kind, tag, seq);
CREATE INDEX IF NOT EXISTS objects_status ON objects (kind, status, seq);
CREATE TABLE IF NOT EXISTS expiring (
    first INTEGER PRIMARY KEY,
    last INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    turn INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS expiring_total (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO expiring_total VALUES (1, 0);
CREATE TABLE IF NOT EXISTS storage_total (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    bytes INTEGER NOT NULL
);
"""
#: A row's owner (``shares_*``) exists.
_OWNED = "EXISTS (SELECT 1 FROM objects s WHERE s.kind = objects.shares_kind AND s.id = objects.shares_id)"
#: Columns added since the first schema: ``(table, column, declaration, how old rows are filled)``.
ADDED: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("objects", "shares_kind", "TEXT", ()),
    ("objects", "shares_id", "TEXT", ()),
    ("expiring", "turn", "INTEGER NOT NULL DEFAULT 0", ("UPDATE expiring SET turn = first",)),
    (
        "objects",
        "cost",
        "INTEGER NOT NULL DEFAULT 0",
        (  # every row but the expiring ones: its body, and its blob unless a live owner counts it
            f"UPDATE objects SET cost = length(body) + CASE WHEN shares_id IS NOT NULL AND {_OWNED} "
            "THEN 0 ELSE size END WHERE COALESCE((SELECT last FROM expiring WHERE first <= objects.seq "
            "ORDER BY first DESC LIMIT 1), 0) < seq",
            f"UPDATE objects SET shares_kind = NULL, shares_id = NULL WHERE shares_id IS NOT NULL AND NOT {_OWNED}",
        ),
    ),
]
INDEXES = (
    "CREATE INDEX IF NOT EXISTS expiring_turn ON expiring (turn);"
    # counting a tag's objects by status (:meth:`SQLiteStore.count_by_status`) reads the index alone
    "CREATE INDEX IF NOT EXISTS objects_tag_status ON objects (kind, tag, status);"
    # an owner's sharers, when it goes
    "CREATE INDEX IF NOT EXISTS objects_shares ON objects (shares_kind, shares_id) WHERE shares_id IS NOT NULL;"
)
#: The group holding the object at ``seq`` (given twice), if it is an expiring one.
GROUP = "(SELECT first FROM expiring WHERE first <= ? ORDER BY first DESC LIMIT 1) AND last >= ?"
NEXT_TURN = "COALESCE((SELECT MAX(turn) FROM expiring), 0) + 1"


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the :data:`ADDED` columns a data directory of an earlier version lacks and sum its
    ``storage_total`` (once, whichever worker process gets there first), then the indexes."""

    def missing() -> list[tuple[str, str, str, tuple[str, ...]]]:
        have = {
            (table, row[1])
            for table in ("objects", "expiring")
            for row in conn.execute(f"PRAGMA table_info({table})")
        }
        return [added for added in ADDED if added[:2] not in have]

    def untotalled() -> bool:
        return conn.execute("SELECT 1 FROM storage_total").fetchone() is None

    if missing() or untotalled():
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, column, declaration, fill in missing():
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                for statement in fill:
                    conn.execute(statement)
            if untotalled():
                conn.execute("INSERT INTO storage_total SELECT 1, COALESCE(SUM(cost), 0) FROM objects")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    conn.executescript(INDEXES)


class SQLiteStore:
    """:class:`fakeai.store.base.Store` over ``<root>/fakeai.db`` and ``<root>/blobs``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        self.db = root / "fakeai.db"
        self._local = threading.local()
        self._conn().executescript(SCHEMA)
        _migrate(self._conn())

    @staticmethod
    def prepare(root: Path) -> None:
        """Create ``<root>/fakeai.db`` with its tables and switch it to WAL, in the process that starts
        the workers, before any starts: the switch takes an exclusive lock for which SQLite does not
        wait, so workers making it at once on a new database could fail ("database is locked"); made
        once, the mode is the file's and each worker's pragma only reads it. The connection is closed
        before the workers fork."""
        root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(root / "fakeai.db", timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            _migrate(conn)
        finally:
            conn.close()

    @staticmethod
    def clean_stale(root: Path) -> int:
        """Delete the blob files a crashed process left half-written in ``<root>/tmp``; returns how
        many. Only safe while no process of the server writes (``fakeai server`` calls it before it
        starts the workers; a replaced worker must not, the others may be writing)."""
        removed = 0
        try:
            entries = list(os.scandir(root / "tmp"))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # Objects

    def insert(
        self,
        kind: str,
        obj: Obj,
        *,
        tag: str = "",
        size: int = 0,
        quota: int | None = None,
        shares: tuple[str, str] | None = None,
    ) -> None:
        body = orjson.dumps(obj)
        with self._write() as conn:
            shared = (
                shares is not None
                and conn.execute("SELECT 1 FROM objects WHERE kind = ? AND id = ?", shares).fetchone()
            )
            # a sharer's bytes on disk are counted by its owner meanwhile
            cost = len(body) + (0 if shared else size)
            self._charge(conn, cost, quota)
            try:
                conn.execute(
                    "INSERT INTO objects (kind, id, tag, status, size, body, shares_kind, shares_id, cost) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        kind,
                        obj["id"],
                        tag,
                        obj.get("status") or "",
                        size,
                        body,
                        *(shares if shared and shares else (None, None)),
                        cost,
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"{kind} {obj['id']} already exists") from None

    @staticmethod
    def _charge(conn: sqlite3.Connection, delta: int, quota: int | None) -> None:
        """Add ``delta`` bytes to ``storage_total``; :class:`StorageFull` (the transaction rolls back)
        when that grows it past ``quota``."""
        (total,) = conn.execute(
            "UPDATE storage_total SET bytes = bytes + ? RETURNING bytes", (delta,)
        ).fetchone()
        if quota is not None and delta > 0 and total > quota:
            raise StorageFull(f"{total - delta} of {quota} bytes are in use; {delta} more do not fit")

    def insert_expiring(
        self, objects: list[tuple[str, Obj]], budget: int, *, tag: str = "", cap: Cap | None = None
    ) -> int:
        """Add objects that expire as one group, first dropping the groups longest untouched while the
        expiring objects' bodies would pass ``budget`` bytes; returns how many groups were dropped.

        A group's objects get consecutive ``seq`` numbers (one writer at a time), so ``expiring`` keeps
        one row per group, ``first`` to ``last`` seq with their bytes, and a running total: a write is
        one more insert and one update, never a scan."""
        bodies = [(kind, obj["id"], orjson.dumps(obj), obj.get("status") or "") for kind, obj in objects]
        size = sum(len(body) for _, _, body, _ in bodies)
        if size > budget:  # alone past the budget: refused, rather than dropping everything for it
            raise StorageFull(f"{size} bytes do not fit the expiring budget of {budget} bytes")
        dropped = 0
        with self._write() as conn:
            if cap is not None and cap.parent is not None:
                parent = conn.execute(
                    "SELECT 1 FROM objects WHERE kind = ? AND id = ?", cap.parent
                ).fetchone()
                if parent is None:
                    raise Missing(f"{cap.parent[0]} {cap.parent[1]} does not exist")
            if cap is not None:
                held, held_bytes = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM objects WHERE kind = ? AND tag = ?",
                    (cap.kind, cap.tag),
                ).fetchone()
                adding = [len(body) for kind, _, body, _ in bodies if kind == cap.kind and tag == cap.tag]
                if held + len(adding) > cap.most or held_bytes + sum(adding) > cap.bytes:
                    raise StorageFull(
                        f"{held} {cap.kind} objects of {held_bytes} bytes (at most {cap.most}, "
                        f"{cap.bytes} bytes); {len(adding)} more do not fit"
                    )
            (total,) = conn.execute(
                "UPDATE expiring_total SET bytes = bytes + ? RETURNING bytes", (size,)
            ).fetchone()
            while total > budget:
                oldest = conn.execute(
                    "SELECT first, last, bytes FROM expiring ORDER BY turn LIMIT 1"
                ).fetchone()
                if oldest is None:
                    break
                conn.execute("DELETE FROM objects WHERE seq BETWEEN ? AND ?", oldest[:2])
                conn.execute("DELETE FROM expiring WHERE first = ?", oldest[:1])
                total -= oldest[2]
                dropped += 1
            if dropped:
                conn.execute("UPDATE expiring_total SET bytes = ?", (total,))
            seqs = []
            try:
                for kind, id, body, status in bodies:
                    seqs.append(
                        conn.execute(
                            "INSERT INTO objects (kind, id, tag, status, body) VALUES (?, ?, ?, ?, ?)",
                            (kind, id, tag, status, body),
                        ).lastrowid
                    )
            except sqlite3.IntegrityError:
                raise Conflict(f"{bodies[0][0]} {bodies[0][1]} already exists") from None
            conn.execute(
                f"INSERT INTO expiring (first, last, bytes, turn) VALUES (?, ?, ?, {NEXT_TURN})",
                (seqs[0], seqs[-1], size),
            )
        return dropped

    def touch(self, kind: str, id: str) -> bool:
        with self._write() as conn:
            row = conn.execute("SELECT seq FROM objects WHERE kind = ? AND id = ?", (kind, id)).fetchone()
            return (
                row is not None
                and conn.execute(
                    f"UPDATE expiring SET turn = {NEXT_TURN} WHERE first = {GROUP}", (row[0], row[0])
                ).rowcount
                == 1
            )

    def expiring_bytes(self) -> int:
        return self._conn().execute("SELECT bytes FROM expiring_total").fetchone()[0]

    def get(self, kind: str, id: str) -> Obj | None:
        row = (
            self._conn().execute("SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, id)).fetchone()
        )
        return None if row is None else orjson.loads(row[0])

    def page(
        self,
        kind: str,
        *,
        tag: str | None = None,
        after: str | None = None,
        limit: int = 20,
        order: str = "desc",
        metadata: dict[str, str] | None = None,
        status: str | None = None,
    ) -> tuple[list[Obj], bool]:
        sql = "SELECT body FROM objects WHERE kind = ?"
        args: list[object] = [kind]
        if tag is not None:
            sql += " AND tag = ?"
            args.append(tag)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        for key, value in (metadata or {}).items():  # bodies are JSON text kept as BLOBs: cast to read
            sql += (
                " AND EXISTS (SELECT 1 FROM json_each(CAST(body AS TEXT), '$.metadata')"
                " WHERE key = ? AND value = ? AND type = 'text')"
            )
            args += [key, value]
        if after is not None:
            sql += f" AND seq {'<' if order == 'desc' else '>'} COALESCE((SELECT seq FROM objects WHERE kind = ? AND id = ?), ?)"
            args += [kind, after, 2**62 if order == "desc" else -1]
        sql += f" ORDER BY seq {'DESC' if order == 'desc' else 'ASC'} LIMIT ?"
        args.append(limit + 1)
        rows = self._conn().execute(sql, args).fetchall()
        return [orjson.loads(r[0]) for r in rows[:limit]], len(rows) > limit

    def all(self, kind: str, *, tag: str | None = None) -> list[Obj]:
        if tag is None:
            rows = self._conn().execute("SELECT body FROM objects WHERE kind = ? ORDER BY seq", (kind,))
        else:
            rows = self._conn().execute(
                "SELECT body FROM objects WHERE kind = ? AND tag = ? ORDER BY seq", (kind, tag)
            )
        return [orjson.loads(r[0]) for r in rows.fetchall()]

    def update(
        self, kind: str, obj: Obj, *, expect: tuple[str, ...] | None = None, quota: int | None = None
    ) -> bool:
        body = orjson.dumps(obj)
        sql = "UPDATE objects SET body = ?, status = ? WHERE kind = ? AND id = ?"
        args: list[object] = [body, obj.get("status") or "", kind, obj["id"]]
        if expect is not None:
            sql += f" AND status IN ({','.join('?' * len(expect))})"
            args += expect
        with self._write() as conn:
            old = conn.execute(
                "SELECT seq, length(body), cost FROM objects WHERE kind = ? AND id = ?", (kind, obj["id"])
            ).fetchone()
            if conn.execute(sql, args).rowcount != 1:
                return False
            self._resize(conn, old, len(body) - old[1], quota)
        return True

    def update_if(
        self, kind: str, obj: Obj, *, field: str, value: str | int | None, quota: int | None = None
    ) -> bool:
        body = orjson.dumps(obj)
        with self._write() as conn:
            old = conn.execute(
                "SELECT seq, length(body), cost FROM objects WHERE kind = ? AND id = ? "
                "AND json_extract(CAST(body AS TEXT), ?) IS ?",
                (kind, obj["id"], f'$."{field}"', value),
            ).fetchone()
            if old is None:
                return False
            conn.execute(
                "UPDATE objects SET body = ?, status = ? WHERE seq = ?",
                (body, obj.get("status") or "", old[0]),
            )
            self._resize(conn, old, len(body) - old[1], quota)
        return True

    def _resize(
        self, conn: sqlite3.Connection, old: tuple[int, int, int], delta: int, quota: int | None
    ) -> None:
        """Count the ``delta`` bytes by which the body of the row ``(seq, length, cost)`` changed: in
        its cost and the storage total (checked against ``quota`` when it grows), or, for an
        expiring row, in its group and the expiring total."""
        if not delta:
            return
        if old[2] > 0:
            conn.execute("UPDATE objects SET cost = cost + ? WHERE seq = ?", (delta, old[0]))
            self._charge(conn, delta, quota)
        else:
            self._resize_expiring(conn, old[0], delta)

    def count_by_status(self, kind: str, *, tag: str) -> dict[str, int]:
        rows = self._conn().execute(
            "SELECT status, COUNT(*) FROM objects WHERE kind = ? AND tag = ? GROUP BY status", (kind, tag)
        )
        return dict(rows.fetchall())

    def delete(self, kind: str, id: str) -> Obj | None:
        with self._write() as conn:
            row = conn.execute(
                "DELETE FROM objects WHERE kind = ? AND id = ? RETURNING body, seq, cost, size, kind, id",
                (kind, id),
            ).fetchone()
            if row is not None:
                self._release(conn, [row])
        return None if row is None else orjson.loads(row[0])

    def delete_all(self, kind: str, *, tag: str) -> int:
        with self._write() as conn:
            rows = conn.execute(
                "DELETE FROM objects WHERE kind = ? AND tag = ? RETURNING body, seq, cost, size, kind, id",
                (kind, tag),
            ).fetchall()
            self._release(conn, rows)
        return len(rows)

    def _release(self, conn: sqlite3.Connection, rows: list[tuple[bytes, int, int, int, str, str]]) -> None:
        """Give back the bytes of deleted rows ``(body, seq, cost, size, kind, id)``: a counted row's
        cost to the storage total, whose sharers now count their own sizes; an expiring row's body to
        its group (which goes with its last object) and the expiring total."""
        freed = 0
        for body, seq, cost, size, kind, id in rows:
            if cost > 0:
                freed += cost
                if size > 0:  # it may own a blob others link: each of them counts it from now on
                    taken = conn.execute(
                        "UPDATE objects SET cost = cost + size, shares_kind = NULL, shares_id = NULL "
                        "WHERE shares_kind = ? AND shares_id = ? RETURNING size",
                        (kind, id),
                    ).fetchall()
                    freed -= sum(sharer for (sharer,) in taken)
            else:
                group = self._resize_expiring(conn, seq, -len(body))
                if group is not None and group[1] <= 0:  # its last object: the group goes too
                    conn.execute("DELETE FROM expiring WHERE first = ?", group[:1])
        if freed:
            self._charge(conn, -freed, None)

    @staticmethod
    def _resize_expiring(conn: sqlite3.Connection, seq: int, delta: int) -> tuple[int, int] | None:
        """Add ``delta`` bytes to the expiring group holding the object at ``seq`` and to the total;
        ``(first, bytes)`` of that group, or None when the object is not an expiring one."""
        group = conn.execute(
            f"UPDATE expiring SET bytes = bytes + ? WHERE first = {GROUP} RETURNING first, bytes",
            (delta, seq, seq),
        ).fetchone()
        if group is not None:
            conn.execute("UPDATE expiring_total SET bytes = bytes + ?", (delta,))
        return group

    def used_bytes(self) -> int:
        return self._conn().execute("SELECT bytes FROM storage_total").fetchone()[0]

    def orphans(self, kind: str, owner_kind: str, *, limit: int = 100) -> list[Obj]:
        rows = self._conn().execute(
            "SELECT body FROM objects o WHERE kind = ? AND NOT EXISTS "
            "(SELECT 1 FROM objects p WHERE p.kind = ? AND p.id = o.tag) ORDER BY seq LIMIT ?",
            (kind, owner_kind, limit),
        )
        return [orjson.loads(r[0]) for r in rows.fetchall()]

    # Leases

    def claim(self, kind: str, statuses: tuple[str, ...], owner: str, seconds: float) -> Obj | None:
        now = time.time()
        sql = (
            f"SELECT id, body FROM objects WHERE kind = ? AND status IN ({','.join('?' * len(statuses))}) "
            "AND (lease_owner IS NULL OR lease_until < ?) ORDER BY seq LIMIT 1"
        )
        if self._conn().execute(sql, (kind, *statuses, now)).fetchone() is None:
            return None  # the common idle case: a read, no write lock
        with self._write() as conn:
            row = conn.execute(sql, (kind, *statuses, now)).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE objects SET lease_owner = ?, lease_until = ? WHERE kind = ? AND id = ?",
                (owner, now + seconds, kind, row[0]),
            )
        return orjson.loads(row[1])

    def renew(self, kind: str, id: str, owner: str, seconds: float) -> bool:
        with self._write() as conn:
            return (
                conn.execute(
                    "UPDATE objects SET lease_until = ? WHERE kind = ? AND id = ? AND lease_owner = ?",
                    (time.time() + seconds, kind, id, owner),
                ).rowcount
                == 1
            )

    def release(self, kind: str, id: str, owner: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE objects SET lease_owner = NULL, lease_until = 0 WHERE kind = ? AND id = ? AND lease_owner = ?",
                (kind, id, owner),
            )

    # Blobs

    def blob_writer(self) -> IO[bytes]:
        return tempfile.NamedTemporaryFile(dir=self.tmp, delete=False)

    def commit_blob(self, writer: IO[bytes], key: str) -> None:
        writer.flush()
        os.fsync(writer.fileno())
        writer.close()
        os.replace(writer.name, self.blob_path(key))

    def discard_blob(self, writer: IO[bytes]) -> None:
        writer.close()
        Path(writer.name).unlink(missing_ok=True)

    def blob_path(self, key: str) -> Path:
        return self.blobs / key

    def open_blob(self, key: str) -> BinaryIO | None:
        try:
            return self.blob_path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError):  # deleted meanwhile (or never committed)
            return None

    def delete_blob(self, key: str) -> None:
        self.blob_path(key).unlink(missing_ok=True)
