"""Builders of the OpenAI objects that the API and the background jobs both store: object ids and
``file`` objects (a batch's output, a fine-tuning job's results and an upload are all files), and
:func:`live_file`, the one lookup of a file that every API using files goes through."""

from __future__ import annotations

import secrets
import time

from fakeai.store.base import Obj, Store


def new_id(prefix: str) -> str:
    """An OpenAI-style object id: ``file-`` + 24 random hex digits."""
    return prefix + secrets.token_hex(12)


def file_object(id: str, filename: str, size: int, purpose: str, expires_at: int | None = None) -> Obj:
    return {
        "id": id,
        "object": "file",
        "bytes": size,
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": expires_at,
        "status_details": None,
    }


def is_expired(file: Obj) -> bool:
    """Whether the ``file`` object has passed its ``expires_at`` (``expires_after`` on upload)."""
    expires_at = file.get("expires_at")
    return expires_at is not None and expires_at <= time.time()


def live_file(store: Store, file_id: str) -> Obj | None:
    """The stored file ``file_id``, or None when there is none or it has expired: an expired file is
    gone for every API (retrieve, list, vector stores, fine-tuning, batches) though its row stays."""
    file = store.get("file", file_id)
    return None if file is None or is_expired(file) else file
