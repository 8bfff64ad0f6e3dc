"""A ``compaction`` item's ``encrypted_content``: the opaque blob that stands for a compacted
conversation (``POST /v1/responses/compact``, :mod:`fakeai.api.responses_compact`).

OpenAI's blob is encrypted and only its servers read it; fakeai's is the summary the compaction wrote,
behind a marker, in base64 (as a reasoning item's ``encrypted_content`` is its reasoning text). A
compaction item sent back as input (to ``POST /v1/responses``, ``/v1/responses/input_tokens``, a
conversation, or another compaction) is read as that summary, an assistant message in the prompt, so
it costs the tokens of the summary the compaction wrote (its ``usage.output_tokens`` but for reasoning)
rather than those of the conversation it replaced. A blob fakeai did not write is a 400
``invalid_encrypted_content``, as OpenAI answers a blob it cannot verify.
"""

from __future__ import annotations

import base64
import binascii

from fakeai.errors import bad_request

#: What every blob starts with (before base64): tells fakeai's blobs from anything else.
MARKER = b"fakeai.compaction.v1\x00"


def sealed(summary: str) -> str:
    """The ``encrypted_content`` of a compaction that wrote ``summary``."""
    return base64.b64encode(MARKER + summary.encode()).decode()


def opened(blob: object, param: str) -> str:
    """The summary ``blob`` carries, or a 400 naming ``param`` when it is not one :func:`sealed` wrote."""
    if isinstance(blob, str):
        try:
            raw = base64.b64decode(blob, validate=True)
            if raw.startswith(MARKER):
                return raw[len(MARKER) :].decode()
        except (binascii.Error, ValueError):  # not base64, or not UTF-8 text after the marker
            pass
    raise bad_request(
        f"The encrypted content of '{param}' could not be verified: it must be the 'encrypted_content' "
        "of a compaction item, unchanged.",
        param=param,
        code="invalid_encrypted_content",
    )
