"""Builders of the OpenAI objects that the API and the background jobs both store: object ids and
``file`` objects (a batch's output, a fine-tuning job's results and an upload are all files)."""

from __future__ import annotations

import secrets
import time

from fakeai.store.base import Obj


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
