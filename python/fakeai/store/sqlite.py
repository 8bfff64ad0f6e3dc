"""The embedded backend: SQLite (WAL) for objects and leases, a data directory for blobs.

Every worker process of one server opens the same directory. SQLite serialises writers across
processes (``BEGIN IMMEDIATE`` with a busy timeout) and WAL lets readers run beside a writer; each
thread gets its own connection, as :mod:`sqlite3` requires. Blobs are written to ``tmp/`` and renamed
into ``blobs/``, so a reader sees a whole blob or none, whatever the writers do concurrently.

Expiring groups are dropped in the order of their ``turn`` (the last one given out plus one, when the
group is added or :meth:`~SQLiteStore.touch` moves it), not of their objects' ``seq``: moving a group to
the back of the queue leaves the objects' creation order (what pages follow) alone. A data directory
of an earlier version gains the ``shares_*`` and ``turn`` columns when it is opened (:func:`_migrate`).
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
"""
#: Columns added since the first schema: ``(table, column, declaration, how old rows are filled)``.
ADDED = [
    ("objects", "shares_kind", "TEXT", None),
    ("objects", "shares_id", "TEXT", None),
    ("expiring", "turn", "INTEGER NOT NULL DEFAULT 0", "UPDATE expiring SET turn = first"),
]
INDEXES = (
    "CREATE INDEX IF NOT EXISTS expiring_turn ON expiring (turn);"
    # counting a tag's objects by status (:meth:`SQLiteStore.count_by_status`) reads the index alone
    "CREATE INDEX IF NOT EXISTS objects_tag_status ON objects (kind, tag, status);"
)
#: The bytes counted against the quota: every object's ``size``, but a blob linked from another
#: object's only once that object is gone (until then its bytes on disk are that object's).
USED = (
    "SELECT COALESCE(SUM(size), 0) FROM objects o WHERE size > 0 AND (o.shares_id IS NULL OR NOT EXISTS "
    "(SELECT 1 FROM objects s WHERE s.kind = o.shares_kind AND s.id = o.shares_id))"
)
#: The group holding the object at ``seq`` (given twice), if it is an expiring one.
GROUP = "(SELECT first FROM expiring WHERE first <= ? ORDER BY first DESC LIMIT 1) AND last >= ?"
NEXT_TURN = "COALESCE((SELECT MAX(turn) FROM expiring), 0) + 1"


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the :data:`ADDED` columns a data directory of an earlier version lacks (once, whichever
    worker process gets there first), then the indexes on them."""

    def missing() -> list[tuple[str, str, str, str | None]]:
        have = {
            (table, row[1])
            for table in ("objects", "expiring")
            for row in conn.execute(f"PRAGMA table_info({table})")
        }
        return [added for added in ADDED if added[:2] not in have]

    if missing():
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, column, declaration, fill in missing():
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                if fill is not None:
                    conn.execute(fill)
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
        row = (
            kind,
            obj["id"],
            tag,
            obj.get("status") or "",
            size,
            orjson.dumps(obj),
            *(shares or (None, None)),
        )
        with self._write() as conn:
            shared = (
                shares is not None
                and conn.execute("SELECT 1 FROM objects WHERE kind = ? AND id = ?", shares).fetchone()
            )
            cost = 0 if shared else size  # a sharer's bytes on disk are counted by its owner meanwhile
            if quota is not None and cost:
                (used,) = conn.execute(USED).fetchone()
                if used + cost > quota:
                    raise StorageFull(f"{used} of {quota} bytes are in use; {cost} more do not fit")
            try:
                conn.execute(
                    "INSERT INTO objects (kind, id, tag, status, size, body, shares_kind, shares_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"{kind} {obj['id']} already exists") from None

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

    def update(self, kind: str, obj: Obj, *, expect: tuple[str, ...] | None = None) -> bool:
        body = orjson.dumps(obj)
        sql = "UPDATE objects SET body = ?, status = ? WHERE kind = ? AND id = ?"
        args: list[object] = [body, obj.get("status") or "", kind, obj["id"]]
        if expect is not None:
            sql += f" AND status IN ({','.join('?' * len(expect))})"
            args += expect
        with self._write() as conn:
            old = conn.execute(
                "SELECT seq, length(body) FROM objects WHERE kind = ? AND id = ?", (kind, obj["id"])
            ).fetchone()
            if conn.execute(sql, args).rowcount != 1:
                return False
            if len(body) != old[1]:  # an expiring object's group and the total count its new size
                self._resize_expiring(conn, old[0], len(body) - old[1])
        return True

    def update_if(self, kind: str, obj: Obj, *, field: str, value: str | int | None) -> bool:
        body = orjson.dumps(obj)
        with self._write() as conn:
            old = conn.execute(
                "SELECT seq, length(body) FROM objects WHERE kind = ? AND id = ? "
                "AND json_extract(CAST(body AS TEXT), ?) IS ?",
                (kind, obj["id"], f'$."{field}"', value),
            ).fetchone()
            if old is None:
                return False
            conn.execute(
                "UPDATE objects SET body = ?, status = ? WHERE seq = ?",
                (body, obj.get("status") or "", old[0]),
            )
            if len(body) != old[1]:
                self._resize_expiring(conn, old[0], len(body) - old[1])
        return True

    def count_by_status(self, kind: str, *, tag: str) -> dict[str, int]:
        rows = self._conn().execute(
            "SELECT status, COUNT(*) FROM objects WHERE kind = ? AND tag = ? GROUP BY status", (kind, tag)
        )
        return dict(rows.fetchall())

    def delete(self, kind: str, id: str) -> Obj | None:
        with self._write() as conn:
            row = conn.execute(
                "DELETE FROM objects WHERE kind = ? AND id = ? RETURNING body, seq", (kind, id)
            ).fetchone()
            if row is not None:  # an expiring object gives its bytes back to its group and the total
                group = self._resize_expiring(conn, row[1], -len(row[0]))
                if group is not None and group[1] <= 0:  # its last object: the group goes too
                    conn.execute("DELETE FROM expiring WHERE first = ?", group[:1])
        return None if row is None else orjson.loads(row[0])

    def delete_all(self, kind: str, *, tag: str) -> int:
        with self._write() as conn:
            rows = conn.execute(
                "DELETE FROM objects WHERE kind = ? AND tag = ? RETURNING body, seq", (kind, tag)
            ).fetchall()
            for body, seq in rows:  # as delete: each gives its bytes back to its group
                group = self._resize_expiring(conn, seq, -len(body))
                if group is not None and group[1] <= 0:
                    conn.execute("DELETE FROM expiring WHERE first = ?", group[:1])
        return len(rows)

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
        return self._conn().execute(USED).fetchone()[0]

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
