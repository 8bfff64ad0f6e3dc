"""The one interface every storage backend implements: JSON objects by kind, blobs by key, leases.

An *object* is an API resource (a file, an upload, a batch ...) kept as its JSON body plus a few
indexed columns: ``kind``, ``id``, ``tag`` (what lists filter by: a file's purpose, an upload part's
upload id), ``status`` (copied from the body, so transitions can be compare-and-set) and ``size``
(bytes it holds in blobs). A *blob* is an immutable byte string
named by a key; it becomes visible whole (written elsewhere, then committed) or not at all. A *lease*
lets one worker process of one server own a piece of background work for a while; whoever holds an
unexpired lease may renew it, anyone may claim an expired one. An *expiring* object (a stored response,
a video job, a conversation and its items, a code interpreter container) counts against a byte budget
of its own instead of the files' quota; past it the least recently added or touched
(:meth:`Store.touch`) go first.

An object whose blob is a hard link of another object's blob (a copy that costs no disk) *shares* that
object's blob: its ``size`` counts against the quota only once that object is gone, the bytes on disk
being counted by it until then. So the quota counts every byte on disk at least once: a blob linked by
several sharers whose owner went counts once per sharer, never too few.

The storage quota (``--max-storage-bytes``) is one account for the whole server, kept by the store:
every object that does not expire costs the bytes of its JSON body plus its ``size``, from the write
that adds or grows it to the one that deletes or shrinks it (:meth:`Store.used_bytes` is the total, a
read of one value, not a sum). Expiring objects are counted by their own budget only. Every write is
counted; a write is *checked* (refused with :class:`StorageFull` when the total would pass ``quota``)
only when it passes ``quota``, and a shrinking update never is. Which writes pass it:

- every record a client's request creates or grows: files, uploads and their parts, batches, message
  batches, fine-tuning jobs (with their creation events), vector stores, their files, file batches and
  modifies, evals, runs and their modifies, skills and their versions, container files, fine-tuning
  checkpoint permissions, organization projects, users' roles, invites, admin keys, service accounts
  and project members (the API answers the 400 ``storage_quota_exceeded``, and stores nothing of it);
- the bulk a client's job writes later, which the job's creation did not pay for: a batch's output and
  error files, a message batch's results, an eval run's output items, a fine-tuning job's metrics
  events, checkpoints and results file (the job or run then ends ``failed`` with the code
  ``storage_quota_exceeded``, as a batch that does not fit does).

Not checked, only counted: the server's own bookkeeping, so it never fails a request or a job in an
odd way: the seeded owner and default project, the video lanes' control row, leases (columns of a row:
no body changes), status transitions and progress saved by background jobs, a vector store's
``usage_bytes`` and ``last_active_at``, the indexer's result, a fine-tuned model's ``model`` record and
the job's closing events (written once the job succeeded, a bounded few per job). They can carry the
total a little past the quota; the next checked write is then refused until something is deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, BinaryIO, NamedTuple, Protocol

Obj = dict[str, Any]


class Cap(NamedTuple):
    """At most ``most`` objects of ``kind`` with ``tag`` (a conversation's items), of at most
    ``bytes`` of bodies in all, checked in the transaction that adds more. With ``parent`` (the
    ``(kind, id)`` they belong to: the conversation), that object must exist then (else
    :class:`Missing`), so nothing is added to what a concurrent delete removed; and the group added
    must fit the budget by itself (else :class:`StorageFull`), so its own parent is not dropped for it."""

    kind: str
    tag: str
    most: int
    bytes: int
    parent: tuple[str, str] | None = None


class Missing(Exception):
    """The object that what is being added belongs to does not exist (any more)."""


class StorageFull(Exception):
    """Storing this object would exceed the total storage quota."""


class Conflict(Exception):
    """An object of that kind with that id already exists."""


class Store(Protocol):
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
        """Add a new object (``obj["id"]`` unique per kind, else :class:`Conflict`), costing its body's
        bytes plus ``size`` (see the module docs); with ``quota``, :class:`StorageFull` (nothing added)
        when :meth:`used_bytes` would pass it. ``shares``: the ``(kind, id)`` of the object whose blob
        this one's blob is a hard link of (see the module docs): while it exists, this object's ``size``
        costs nothing."""

    def insert_expiring(
        self, objects: list[tuple[str, Obj]], budget: int, *, tag: str = "", cap: Cap | None = None
    ) -> int:
        """Add ``(kind, obj)`` objects (each with ``tag``) as one group that may expire: while the bodies
        of every such object would pass ``budget`` bytes, the groups least recently added or touched
        (:meth:`touch`) are deleted first (the count is returned). Stored responses and chat
        completions, conversations, video jobs and containers are kept so, as OpenAI expires them too.
        An :meth:`update` of an expiring object counts its new size. With ``cap``, objects that would
        pass its count are :class:`StorageFull` (nothing is added); so is a group larger than the whole
        budget (nothing is dropped for it)."""

    def touch(self, kind: str, id: str) -> bool:
        """Move the expiring group holding the object to the back of the queue :meth:`insert_expiring`
        drops from, as if it had just been added (one transaction; pages keep their creation order);
        ``False`` when there is no such object or it does not expire."""

    def expiring_bytes(self) -> int:
        """The bytes of the expiring objects' bodies."""

    def get(self, kind: str, id: str) -> Obj | None: ...

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
        """Objects in creation order (``asc``/``desc``) after the one with id ``after``; and whether more
        follow. ``metadata``: only objects whose body's ``metadata`` holds every one of these pairs;
        ``status``: only objects of that status."""

    def all(self, kind: str, *, tag: str | None = None) -> list[Obj]:
        """Every object of a kind (and tag), oldest first."""

    def update(
        self, kind: str, obj: Obj, *, expect: tuple[str, ...] | None = None, quota: int | None = None
    ) -> bool:
        """Replace an object's body; with ``expect``, only while its status is one of those
        (compare-and-set). Its new size counts in place of the old (an expiring object's against its
        budget); with ``quota``, a body that grows the total past it is :class:`StorageFull` (nothing
        changed)."""

    def update_if(
        self, kind: str, obj: Obj, *, field: str, value: str | int | None, quota: int | None = None
    ) -> bool:
        """Replace an object's body only while its stored body's top-level ``field`` is ``value``
        (``None``: absent or null): compare-and-set on a revision kept in the body, for objects whose
        status is a real status that :meth:`update`'s ``expect`` cannot also serve as a version.
        Counted and checked as :meth:`update`."""

    def count_by_status(self, kind: str, *, tag: str) -> dict[str, int]:
        """How many objects of a kind and tag there are of each status (statuses without one absent),
        from the index alone: no body is read."""

    def delete(self, kind: str, id: str) -> Obj | None:
        """Remove an object, returning what it was (``None`` when there was none)."""

    def delete_all(self, kind: str, *, tag: str) -> int:
        """Remove every object of a kind and tag (a conversation's items); returns how many."""

    def used_bytes(self) -> int:
        """The bytes counted against the storage quota: every object's body and ``size`` but the
        expiring ones' (a sharing one's ``size`` only once its owner is gone)."""

    def orphans(self, kind: str, owner_kind: str, *, limit: int = 100) -> list[Obj]:
        """At most ``limit`` objects of ``kind``, oldest first, whose ``tag`` names no object of
        ``owner_kind``: what an owner deleted, or dropped by the expiring budget, left behind."""

    def claim(self, kind: str, statuses: tuple[str, ...], owner: str, seconds: float) -> Obj | None:
        """Lease the oldest object of ``kind`` in one of ``statuses`` nobody holds an unexpired lease on."""

    def renew(self, kind: str, id: str, owner: str, seconds: float) -> bool:
        """Extend ``owner``'s lease; ``False`` when another owner took the object over."""

    def release(self, kind: str, id: str, owner: str) -> None: ...

    # Blobs
    def blob_writer(self) -> IO[bytes]:
        """A new private file to write a blob into; :meth:`commit_blob` makes it visible."""

    def commit_blob(self, writer: IO[bytes], key: str) -> None: ...

    def discard_blob(self, writer: IO[bytes]) -> None: ...

    def blob_path(self, key: str) -> Path:
        """Where the committed blob ``key`` can be read (a local path in the embedded backend)."""

    def open_blob(self, key: str) -> BinaryIO | None:
        """The committed blob ``key`` opened for reading, or None when there is none (another worker may
        delete it at any moment, so a reader opens it once, treats None as missing, and reads from the
        descriptor: a delete after the open no longer matters)."""

    def delete_blob(self, key: str) -> None: ...
