"""API keys: which bearer keys the server accepts, and how keys are named in errors and metrics.

A key is given as itself (``sk-test-1``) or as its SHA-256 hash (``sha256:<64 hex digits>``), so a
scenario file or a command line need not hold the secret. The hash is of the key's UTF-8 bytes, as
``printf %s "$KEY" | sha256sum`` prints it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

HASH_PREFIX = "sha256:"


def mask(key: str) -> str:
    """The key as OpenAI's errors show it: its first three and last four characters."""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:3]}{'*' * min(len(key) - 7, 24)}{key[-4:]}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def label(key: str) -> str:
    """How a key is named in the rate-limit table and ``/metrics/rate-limits``: masked, plus a short
    hash so that two keys with the same ends stay apart."""
    return f"{mask(key)}#{digest(key)[:8]}"


class KeyRing:
    """The accepted keys; :meth:`check` gives the presented key's label, or None when not accepted.
    A key given by its hash is labelled ``sha256:<first 8 hex digits>``."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.plain: dict[str, str] = {}
        self.hashed: dict[str, str] = {}
        for key in keys:
            if key.startswith(HASH_PREFIX):
                hexdigest = key[len(HASH_PREFIX) :].lower()
                if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
                    raise ValueError(f"API key {key[:20]}...: a sha256: key needs 64 hex digits")
                self.hashed[hexdigest] = f"{HASH_PREFIX}{hexdigest[:8]}"
            else:
                self.plain[key] = label(key)

    def __bool__(self) -> bool:
        return bool(self.plain or self.hashed)

    def check(self, presented: str) -> str | None:
        found = self.plain.get(presented)
        if found is None and self.hashed:
            found = self.hashed.get(digest(presented))
        return found

    def label_of_configured(self, key: str) -> str:
        """The label :meth:`check` gives the configured ``key`` (plain or ``sha256:``)."""
        if key.startswith(HASH_PREFIX):
            return self.hashed[key[len(HASH_PREFIX) :].lower()]
        return self.plain[key]
