from __future__ import annotations

import hashlib

import pytest

from fakeai.gateway.keys import KeyRing, mask


def test_mask_keeps_only_the_ends():
    assert mask("sk-proj-abcdefghijklmnop1234") == "sk-*********************1234"
    assert mask("short") == "*****"


def test_plain_and_hashed_keys():
    ring = KeyRing(["sk-one-000001", "sha256:" + hashlib.sha256(b"sk-two-000002").hexdigest().upper()])
    assert ring.check("sk-one-000001").startswith("sk-******0001#")
    assert ring.check("sk-two-000002").startswith("sha256:")
    assert ring.check("sk-two-000002") == ring.label_of_configured(
        "sha256:" + hashlib.sha256(b"sk-two-000002").hexdigest()
    )
    assert ring.check("sk-three") is None and ring and not KeyRing([])


def test_bad_hash_is_rejected():
    with pytest.raises(ValueError, match="64 hex"):
        KeyRing(["sha256:abc"])
