"""What fakeai does when the reader of its output goes away (``fakeai simulate ... | head -3``).

Python ignores SIGPIPE, so a write to a pipe whose reader has exited raises ``BrokenPipeError`` where
a C tool is stopped quietly by the signal. fakeai behaves as the C tools do:

1. **A command** (``fakeai simulate`` in every format, ``--help``, ``--version``) whose standard output
   is closed stops writing and exits with status 141 (128 + SIGPIPE, what a shell reports for a tool
   the signal stopped, so ``set -o pipefail`` sees the same as with ``seq``), and no traceback:
   :func:`closed_stdout_exits` around the whole command, which also flushes standard output before the
   interpreter's own exit (a closed pipe found there is a "Exception ignored" message and status 120).
2. **``fakeai server`` keeps serving** when the reader of its log goes away (``fakeai server | head``):
   its clients do not depend on its log. Its log handlers (:class:`LogHandler`, in the main process and
   in every granian worker) drop the lines of a closed stream instead of printing a
   ``--- Logging error ---`` traceback for each line.

Either way the closed descriptor is then pointed at ``/dev/null`` (:func:`discard`), so that what is
still buffered, and every later write or flush, goes nowhere without another error.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Exit status of a command whose standard output was closed: 128 + SIGPIPE (13).
CLOSED_STATUS = 141


def discard(stream: Any) -> None:
    """Point ``stream``'s descriptor at ``/dev/null`` (its reader is gone)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


@contextmanager
def closed_stdout_exits() -> Iterator[None]:
    """Run a command; a closed standard output (during it, or in the flush after it) ends the process
    with :data:`CLOSED_STATUS` and nothing printed."""
    try:
        try:
            yield
        finally:
            sys.stdout.flush()  # here rather than at interpreter exit, where it cannot be caught
    except BrokenPipeError:
        discard(sys.stdout)
        sys.exit(CLOSED_STATUS)


class LogHandler(logging.StreamHandler):
    """A stream handler that goes quiet once its stream's reader is gone; other errors are reported
    as :class:`logging.StreamHandler` reports them."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            discard(self.stream)
            return
        super().handleError(record)
