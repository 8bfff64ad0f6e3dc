"""A stored blob answered from a descriptor opened before the answer starts.

Another worker may delete the blob (a file or a batch deleted) at any moment. Checking that the path
exists and then handing it to starlette's ``FileResponse`` leaves a window in which the file goes away
between the check and ``FileResponse``'s own ``stat`` and ``open``, a 500 with a traceback. Here the
file is opened once, in the handler (:meth:`fakeai.store.Store.open_blob`, which the background jobs
reading stored files use too): if it is gone the handler answers its 404; once it is open, a later
unlink does not matter (an unlinked file stays readable through an open descriptor on POSIX), and the
whole file as it was when opened is sent.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fakeai.store import Store

#: Bytes read and sent at a time.
CHUNK = 64 * 1024


async def open_blob(store: Store, key: str) -> BinaryIO | None:
    """The blob ``key`` opened for reading off the event loop, or None when it does not exist (deleted
    meanwhile)."""
    return await anyio.to_thread.run_sync(store.open_blob, key)


class OpenFileResponse(Response):
    """The whole of ``file`` (opened by :func:`open_blob`), which it closes once sent or abandoned."""

    def __init__(self, file: BinaryIO, media_type: str) -> None:
        self.file = file
        self.size = os.fstat(file.fileno()).st_size
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers({"content-length": str(self.size)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            left = self.size
            while True:  # exactly the size announced, however the file changes
                chunk = await anyio.to_thread.run_sync(self.file.read, min(CHUNK, left)) if left else b""
                left -= len(chunk)
                more = bool(chunk) and left > 0
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    return
        finally:
            self.file.close()
