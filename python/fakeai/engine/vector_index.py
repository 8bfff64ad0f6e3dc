"""Indexing files into vector stores and searching them, with fakeai's tokenizer and embeddings.

A ``vector_store.file`` starts ``in_progress``; the background poller of a free worker reads the file,
cuts it into token windows (the store's or file's static chunking strategy; ``auto`` is 800 tokens
overlapping by 400, as OpenAI documents), embeds every chunk (256 dimensions, the Rust core's
feature-hashing embeddings) and stores the chunk texts and the vector matrix as two blobs; then it is
``completed`` (or ``failed`` with ``last_error`` for a missing or non-UTF-8 file, or one of more than
5,000,000 tokens, OpenAI's limit per file, which also bounds the index's memory: 45 MB of text cut
into 100-token chunks is a 200 MB matrix). A search embeds the
query and ranks every chunk of the store's completed files by cosine similarity in one Rust call per
file, so texts sharing words with the query score higher.

Another worker may delete a file, or remove a file from its store, at any moment: each blob is opened
once (:meth:`~fakeai.store.Store.open_blob`) and read from that descriptor. A file gone by then fails
its indexing with ``invalid_file`` naming it, as one gone before; a search leaves out a file whose index
is gone, or whose two blobs (read one after the other) no longer match because it was indexed again.

Concurrent writers never lose each other's changes. Every write of a vector store or a vector store file
goes through :func:`change`: read the object, apply only the writer's own fields, save it
compare-and-set on its ``revision`` (a fresh random token each write, kept in the body and never shown),
and on a conflict do it again on a fresh read. So a modify's ``name`` and another's ``metadata`` both
stay, a search's or the indexer's ``last_active_at`` does not undo a modify, and an ``attributes`` update
made while the file indexes survives the indexer marking it ``completed``. Each attachment of a file
carries its own ``attachment`` token, which names its index blobs: an indexer still working on a file
attached again (or removed) meanwhile finds another token, saves nothing and drops only its own blobs.

A vector store's ``file_counts`` are counted by status from the store's index
(:meth:`~fakeai.store.Store.count_by_status`, no file read); its ``usage_bytes`` is kept on the store,
each through :func:`change`: the indexer adds a file's bytes just before it marks the file completed
(and takes them back if it cannot: so once a client sees the file completed, the store counts its
bytes), and whoever removes a completed file takes them off after (a store of an earlier version,
without it, is summed from its files once). The deltas commute, so concurrent ones add up exactly.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from fakeai import _core
from fakeai.engine.background import Job, Lease
from fakeai.errors import bad_request
from fakeai.store import Obj, Store
from fakeai.store.objects import live_file

DIMS = 256
#: OpenAI's limit of tokens per vector store file.
MAX_FILE_TOKENS = 5_000_000
AUTO = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
KIND = "vector_store.file"
STORE_KIND = "vector_store"
#: Body fields that only the server reads: the compare-and-set token, and the attachment's token.
REVISION, ATTACHMENT = "revision", "attachment"
HIDDEN = (REVISION, ATTACHMENT)


def token() -> str:
    return secrets.token_hex(8)


def change(
    store: Store, kind: str, id: str, apply: Callable[[Obj], Obj | None], quota: int | None = None
) -> Obj | None:
    """Save ``apply(current)`` (a new dict: the current object with the caller's fields changed) over
    the object compare-and-set on its revision, reading it afresh and applying again until no other
    writer came between; the object saved, or None when there is none or ``apply`` returned None
    (nothing to change). ``quota``: a client's change that grows the object past it is
    :class:`~fakeai.store.StorageFull` (the server's own changes pass none). Store reads and writes:
    run it off the event loop."""
    while True:
        current = store.get(kind, id)
        if current is None:
            return None
        changed = apply(current)
        if changed is None:
            return None
        changed[REVISION] = token()
        if store.update_if(kind, changed, field=REVISION, value=current.get(REVISION), quota=quota):
            return changed


def usage(store: Store, vs: Obj) -> int:
    """The bytes of the store's indexes: kept on the store, or summed once for one of an earlier version."""
    if "usage_bytes" in vs:
        return int(vs["usage_bytes"])
    return sum(vsf["usage_bytes"] for vsf in store.all(KIND, tag=vs["id"]))


def account(store: Store, vs_id: str, usage_delta: int = 0, *, active: bool = True) -> None:
    """Add ``usage_delta`` bytes to the store's ``usage_bytes`` and, when ``active``, set its
    ``last_active_at`` to now (nothing when the store is gone)."""

    def apply(vs: Obj) -> Obj:
        changed = dict(vs)
        # one of an earlier version is summed from its files, which already hold this change
        changed["usage_bytes"] = vs["usage_bytes"] + usage_delta if "usage_bytes" in vs else usage(store, vs)
        if active:
            changed["last_active_at"] = int(time.time())
        return changed

    change(store, STORE_KIND, vs_id, apply)


def chunking(strategy: Any) -> Obj:
    """The stored form of a request's ``chunking_strategy`` (400 when it is not a valid one)."""
    if strategy is None or strategy == {"type": "auto"}:
        return AUTO
    if (
        not isinstance(strategy, dict)
        or strategy.get("type") != "static"
        or not isinstance(strategy.get("static"), dict)
    ):
        raise bad_request(
            "'chunking_strategy' must be {'type': 'auto'} or a static strategy.", param="chunking_strategy"
        )
    static = strategy["static"]
    size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens")
    if not _is_int(size) or not 100 <= size <= 4096:
        raise bad_request(
            "'max_chunk_size_tokens' must be an integer from 100 to 4096.",
            param="chunking_strategy.static.max_chunk_size_tokens",
        )
    if not _is_int(overlap) or not 0 <= overlap <= size // 2:
        raise bad_request(
            "'chunk_overlap_tokens' must be a non-negative integer at most half of 'max_chunk_size_tokens'.",
            param="chunking_strategy.static.chunk_overlap_tokens",
        )
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is no token count


def blob_keys(vs_id: str, file_id: str, attachment: str | None = None) -> tuple[str, str]:
    """The chunk texts' and vectors' blobs of one attachment of the file to the store (of the file in
    the store, for one attached by an earlier version, without an ``attachment`` token)."""
    stem = f"{vs_id}.{file_id}" + (f".{attachment}" if attachment else "")
    return f"{stem}.chunks", f"{stem}.vectors"


def index_keys(vsf: Obj) -> tuple[str, str]:
    """:func:`blob_keys` of a stored ``vector_store.file``."""
    return blob_keys(vsf["vector_store_id"], vsf["file_id"], vsf.get(ATTACHMENT))


def _ingest(store: Store, vsf: Obj) -> Obj:
    """Chunk and embed one file; the fields that change on the ``vector_store.file``."""
    file_id, strategy = vsf["file_id"], vsf["chunking_strategy"]
    file = store.open_blob(file_id) if live_file(store, file_id) is not None else None
    if file is None:  # gone, or deleted by another worker between the lookup and the open
        return {
            "status": "failed",
            "last_error": {
                "code": "invalid_file",
                "message": f"The file '{file_id}' was deleted or has expired.",
            },
        }
    try:
        with file:  # read from the descriptor: a delete from now on does not matter
            text = file.read().decode("utf-8")
    except UnicodeDecodeError:
        return {
            "status": "failed",
            "last_error": {"code": "unsupported_file", "message": "The file is not UTF-8 text."},
        }
    tokens = _core.count_tokens(text)
    if tokens > MAX_FILE_TOKENS:
        return {
            "status": "failed",
            "last_error": {
                "code": "invalid_file",
                "message": f"The file has {tokens:,} tokens; a vector store file may have at most "
                f"{MAX_FILE_TOKENS:,}.",
            },
        }
    static = strategy["static"]
    chunks = _core.chunk_text(text, static["max_chunk_size_tokens"], static["chunk_overlap_tokens"])
    texts, vectors = orjson.dumps(chunks), _core.embedding_matrix(chunks, DIMS)
    for key, data in zip(index_keys(vsf), (texts, vectors), strict=True):
        writer = store.blob_writer()
        writer.write(data)
        store.commit_blob(writer, key)
    return {"status": "completed", "usage_bytes": len(texts) + len(vectors)}


def drop_index(store: Store, vsf: Obj) -> None:
    for key in index_keys(vsf):
        store.delete_blob(key)


class IndexRunner:
    def __init__(self, store: Store) -> None:
        self.store = store

    def job(self) -> Job:
        return Job(KIND, ("in_progress",), self.run)

    async def run(self, vsf: Obj, lease: Lease) -> None:
        changes = await run_in_threadpool(_ingest, self.store, vsf)
        lease.renew()
        await run_in_threadpool(self.finish, vsf, changes)

    def finish(self, vsf: Obj, changes: Obj) -> None:
        """Save the indexing's ``changes`` over the file as it is now (its ``attributes`` may have
        changed meanwhile), unless it was cancelled, removed or attached again: then its blobs go."""

        def apply(current: Obj) -> Obj | None:
            if current.get(ATTACHMENT) != vsf.get(ATTACHMENT) or current["status"] != "in_progress":
                return None
            return {**current, **changes}

        vs_id, added = vsf["vector_store_id"], changes.get("usage_bytes", 0)
        account(self.store, vs_id, added)  # first: a client that sees the file completed sees its bytes
        if change(self.store, KIND, vsf["id"], apply) is None:
            drop_index(self.store, vsf)
            if added:
                account(self.store, vs_id, -added, active=False)


COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
#: Bounds of one search filter, so its check and its matching against every file stay cheap: keys and
#: string values as long as an attribute's may be (64 and 512 characters), and/or nested at most
#: ``MAX_FILTER_DEPTH`` deep, and at most ``MAX_FILTER_TERMS`` comparisons and in/nin values in all.
MAX_FILTER_KEY_CHARS = 64
MAX_FILTER_VALUE_CHARS = 512
MAX_FILTER_DEPTH = 8
MAX_FILTER_TERMS = 1000
_SHAPE = (
    "a filter is {'type': 'eq'|'ne'|'gt'|'gte'|'lt'|'lte'|'in'|'nin', 'key', 'value'} or "
    "{'type': 'and'|'or', 'filters': [...]}"
)


def check_filter(flt: Any) -> None:
    """400 naming the offending field unless ``flt`` is a comparison or compound attribute filter, as
    OpenAI defines them, within the bounds above."""
    if _check_filter(flt, "filters", 0) > MAX_FILTER_TERMS:
        raise bad_request(
            f"A filter may hold at most {MAX_FILTER_TERMS} comparisons and 'in'/'nin' values.",
            param="filters",
        )


def _check_filter(flt: Any, where: str, depth: int) -> int:
    """Check one (sub)filter at ``where``; the number of terms it holds."""
    kind = flt.get("type") if isinstance(flt, dict) else None
    if kind in ("and", "or"):
        parts = flt.get("filters")
        if not isinstance(parts, list) or not parts:
            raise bad_request(
                f"'{where}.filters' must be a non-empty list of filters.", param=f"{where}.filters"
            )
        if depth >= MAX_FILTER_DEPTH:
            raise bad_request(f"Filters nest at most {MAX_FILTER_DEPTH} levels deep.", param=where)
        terms = 0
        for i, part in enumerate(parts):
            terms += _check_filter(part, f"{where}.filters[{i}]", depth + 1)
            if terms > MAX_FILTER_TERMS:
                break
        return terms
    if kind not in COMPARISONS or "key" not in flt or "value" not in flt:
        raise bad_request(f"'{where}' is not a valid filter: {_SHAPE}.", param=where)
    key, value = flt["key"], flt["value"]
    if not isinstance(key, str) or not 0 < len(key) <= MAX_FILTER_KEY_CHARS:
        raise bad_request(
            f"'{where}.key' must be a string of 1 to {MAX_FILTER_KEY_CHARS} characters.", param=f"{where}.key"
        )
    values = value if isinstance(value, list) and kind in ("in", "nin") else [value]
    if len(values) > MAX_FILTER_TERMS:
        return len(values)
    for v in values:
        if not (isinstance(v, (bool, int, float)) or isinstance(v, str) and len(v) <= MAX_FILTER_VALUE_CHARS):
            raise bad_request(
                f"'{where}.value' must be a string of at most {MAX_FILTER_VALUE_CHARS} characters, a number "
                "or a boolean ('in' and 'nin' also take a list of them).",
                param=f"{where}.value",
            )
    return len(values)


def _matches(attributes: Obj, flt: Obj) -> bool:
    kind = flt["type"]
    if kind in ("and", "or"):
        results = (_matches(attributes, f) for f in flt["filters"])
        return all(results) if kind == "and" else any(results)
    have, want = attributes.get(flt["key"]), flt["value"]
    if kind == "eq":
        return have == want
    if kind == "ne":
        return have != want
    if kind in ("in", "nin"):
        inside = have in (want if isinstance(want, list) else [want])
        return inside if kind == "in" else not inside
    if (
        have is None
        or type(have) is bool
        or not isinstance(have, (int, float))
        or not isinstance(want, (int, float))
    ):
        return False
    return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[kind]


def _read_index(store: Store, vsf: Obj) -> tuple[bytes, list[str]] | None:
    """A file's vector matrix and chunk texts; None when either blob is gone (the file was removed
    meanwhile) or they do not match row for row (an index of an earlier version's naming, removed and
    indexed again with another chunking between the two opens)."""
    chunks_key, vectors_key = index_keys(vsf)
    blobs = []
    for key in (vectors_key, chunks_key):
        file = store.open_blob(key)
        if file is None:
            return None
        with file:
            blobs.append(file.read())
    vectors, chunks = blobs[0], orjson.loads(blobs[1])
    return (vectors, chunks) if len(vectors) == len(chunks) * DIMS * 4 else None


def search(store: Store, vs_id: str, queries: list[str], k: int, filters: Any, threshold: float) -> list[Obj]:
    """The ``k`` best chunks of the store's completed files for ``queries`` (best score per chunk)."""
    if filters is not None:
        check_filter(filters)
    query = " ".join(queries)
    hits: list[tuple[float, int, Obj, str]] = []
    for vsf in store.all(KIND, tag=vs_id):
        attributes = vsf.get("attributes") or {}
        if vsf["status"] != "completed" or (filters is not None and not _matches(attributes, filters)):
            continue
        index = _read_index(store, vsf)
        if index is None:  # removed (or indexed again) meanwhile
            continue
        vectors, chunks = index
        for row, score in _core.top_k(query, vectors, DIMS, k):
            if score >= threshold:
                hits.append((score, len(hits), vsf, chunks[row]))
    hits.sort(key=lambda h: (-h[0], h[1]))
    files = {}
    results = []
    for score, _, vsf, text in hits[:k]:
        file_id = vsf["file_id"]
        if file_id not in files:
            file = store.get("file", file_id)
            files[file_id] = file["filename"] if file else ""
        results.append(
            {
                "file_id": file_id,
                "filename": files[file_id],
                "score": round(score, 6),
                "attributes": vsf.get("attributes"),
                "content": [{"type": "text", "text": text}],
            }
        )
    return results
